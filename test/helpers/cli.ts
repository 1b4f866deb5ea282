import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { main } from '../../src/cli/program.js';

/** The built CLI, as `npx bpfmap` runs it. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A writable stream that keeps what is written to it, for main's stdout and stderr. */
export class Captured extends Writable {
  private readonly parts: Buffer[] = [];

  constructor(readonly isTTY = false, readonly columns?: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.parts.push(chunk);
    done();
  }

  get text(): string {
    return Buffer.concat(this.parts).toString();
  }
}

/**
 * Runs the CLI in this process, as `main(args, io)` with captured stdout and stderr (not
 * terminals), stdin read from input, env added to this process's environment and signals that
 * nobody sends. What needs a process of its own (exit codes of a process, signals, terminals,
 * real file descriptors) is tested with runCli.
 */
export async function runMain(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const stdout = new Captured();
  const stderr = new Captured();
  const stdin = Readable.from(opts.input === undefined || opts.input.length === 0 ? [] : [Buffer.from(opts.input)], { objectMode: false });
  const code = await main(args, { stdin, stdout, stderr, env: { ...process.env, ...opts.env }, signals: new EventEmitter() });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/**
 * Runs the CLI as a child process (stdout and stderr are pipes), feeding input to its stdin;
 * killed after timeoutMs, if given (code null), for a test of something that must end.
 */
export function runCli(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs });
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

/**
 * Whether this process may make mount namespaces and drop to another user (root, with unshare and
 * setpriv); a test that needs it skips otherwise, except in CI, where it fails.
 */
export function rootWithNamespaces(t: TestContext): boolean {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') throw new Error('CI runs the fresh-machine tests as root');
    t.skip('needs root (mount namespaces, another user)');
    return false;
  }
  return tool(t, 'unshare') !== null && tool(t, 'setpriv') !== null;
}

/** setpriv's arguments for a user with no privileges at all: nobody, no groups, no capabilities. */
export const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];

/**
 * Runs a shell script as a fresh machine would: in a private mount namespace in which /sys/fs/bpf
 * has no bpf filesystem (every mount there is taken away), from /, with only PATH and env set.
 * Mounts made inside (the demo's bpffs, its pins) go away with the namespace.
 */
export function onFreshMachine(script: string, env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `while umount -l /sys/fs/bpf 2>/dev/null; do :; done; ${script}`], {
    encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
