// A real Prometheus server for the exporter's tests: loopback only, a free port, a temporary data
// directory, a short scrape interval, killed by stop(). Installed from Debian when missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A free TCP port on 127.0.0.1 (released before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function installed(): boolean {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * True when prometheus and promtool can run, installing Debian's package as root when they are
 * missing. Otherwise the test is skipped, except in CI, where that fails it.
 */
export function prometheusAvailable(t: TestContext): boolean {
  if (installed()) return true;
  if (process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], { stdio: 'ignore', env, timeout: 600_000 });
    if (installed()) return true;
  }
  if (process.env.CI === 'true') throw new Error('CI needs prometheus and promtool (apt-get install prometheus)');
  t.skip('prometheus is not installed');
  return false;
}

/** Runs promtool check metrics on an exposition; its complaints ('' when none) and exit status. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export class Prometheus {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly log: () => string,
  ) {}

  /** Starts Prometheus scraping targets (host:port) every interval, and waits until it answers. */
  static async start(targets: string[], interval = '500ms'): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-prom-'));
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      'scrape_configs:',
      '  - job_name: bpfmap',
      `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
      '',
    ].join('\n'));
    const proc = spawn('prometheus', [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    const p = new Prometheus(proc, dir, `http://127.0.0.1:${port}`, () => stderr);
    try {
      await p.until(async () => (await fetch(`${p.url}/-/ready`)).ok, 'Prometheus to be ready', 30_000);
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  /** An instant query's samples. */
  async query(q: string): Promise<Sample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${q}: ${body.error ?? res.status}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Polls check until it is true, for at most ms (then an error naming what was awaited). */
  async until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    let last: unknown;
    while (Date.now() < end) {
      try {
        if (await check()) return;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}; prometheus log: ${this.log()}`);
  }

  /** Waits for a query to give exactly the expected samples, each named by key(its labels). */
  async expect(q: string, want: Record<string, number>, key: (m: Record<string, string>) => string): Promise<void> {
    let got: Record<string, number> = {};
    try {
      await this.until(async () => {
        got = Object.fromEntries((await this.query(q)).map((s) => [key(s.metric), s.value]));
        return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(want).sort());
      }, `query ${q}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
