// The exporter as users run it: `bpfmap export` in a child process, on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from './cli.js';

export class ExporterProcess {
  private constructor(
    readonly proc: ChildProcess,
    readonly address: string,
    private readonly err: () => string,
  ) {}

  /**
   * Starts `bpfmap export args --listen 127.0.0.1:0` and waits for the address it serves on;
   * wrapper (e.g. prlimit with its options) runs it when given.
   */
  static start(args: string[], wrapper: string[] = []): Promise<ExporterProcess> {
    const argv = [process.execPath, CLI, 'export', ...args, '--listen', '127.0.0.1:0'];
    const all = [...wrapper, ...argv];
    const proc = spawn(all[0] as string, all.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`bpfmap export did not start: ${stderr}`));
      }, 15_000);
      proc.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /serving http:\/\/(127\.0\.0\.1:\d+)\/metrics/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(new ExporterProcess(proc, m[1] as string, () => stderr));
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bpfmap export exited (${code}): ${stderr}`));
      });
    });
  }

  /** Everything the exporter logged. */
  get stderr(): string {
    return this.err();
  }

  async scrape(accept?: string): Promise<{ status: number; type: string; body: string }> {
    const res = await fetch(`http://${this.address}/metrics`, accept ? { headers: { accept } } : {});
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  }

  /** Resident memory of the exporter process, in bytes (from /proc). */
  rss(): number {
    return rssOf(this.proc.pid as number);
  }

  /** SIGTERM, then SIGKILL if it lingers; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    const exited = new Promise<number | null>((r) => this.proc.once('exit', (code) => r(code)));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

export function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
