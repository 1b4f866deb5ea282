import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** The built CLI, as `npx bpfmap` runs it. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a child process (stdout and stderr are pipes), feeding input to its stdin. */
export function runCli(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // a CLI that exits before reading all its input closes the pipe
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** Non-empty lines of text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** The path of a program, or null: tests that need it skip without it, except in CI. */
export function tool(t: TestContext, name: string): string | null {
  for (const p of [name, `/usr/sbin/${name}`, `/usr/bin/${name}`]) {
    for (const probe of name === 'tmux' ? [['-V']] : [['version'], ['--version']])
      if (spawnSync(p, probe, { stdio: 'ignore' }).status === 0) return p;
  }
  if (process.env.CI === 'true') throw new Error(`CI needs ${name} (apt-get install ${name})`);
  t.skip(`${name} is not installed`);
  return null;
}

export function unpin(path: string): void {
  rmSync(path, { force: true });
}

/** Runs the CLI and closes its stdout after the first output, as `| head -1` does. */
export function runCliClosingEarly(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.once('data', () => child.stdout.destroy());
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
