import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { probeLinux } from '../../src/kernel/open.js';

const probe = probeLinux();

/**
 * True when the real kernel's bpf() works. Otherwise the test is skipped with the reason, except
 * in CI (CI=true), where a kernel test that cannot run is a failure, never a silent skip.
 */
export function linuxAvailable(t: TestContext): boolean {
  if (probe.ok) return true;
  if (process.env.CI === 'true') throw new Error(`CI needs the real kernel, but ${probe.reason}`);
  t.skip(`real kernel unavailable: ${probe.reason}`);
  return false;
}

/** A fresh path on the bpf filesystem for a test's pins. */
export function pinPath(tag: string): string {
  return `/sys/fs/bpf/bpfmap-test-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** A kernel a shared suite runs on: the real one, and (once registered) the emulated one. */
export interface KernelUnderTest {
  name: string;
  /** Skips (or in CI fails) like linuxAvailable when this kernel cannot run here. */
  available(t: TestContext): boolean;
  kernel(): Kernel;
}

let linux: Kernel | undefined;

export const LINUX: KernelUnderTest = {
  name: 'linux',
  available: linuxAvailable,
  kernel: () => (linux ??= new LinuxKernel()),
};

let emulated: EmulatedKernel | undefined;

/** A private pin store for this test process, removed when it exits. */
export function emuStoreDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-emu-test-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The emulated kernel runs everywhere; its pins go to a private store. */
export const EMULATED: KernelUnderTest = {
  name: 'emulated',
  available: () => true,
  kernel: () => (emulated ??= new EmulatedKernel({ dir: emuStoreDir() })),
};

/** Every kernel the shared suites run on. */
export function testKernels(): KernelUnderTest[] {
  return [LINUX, EMULATED];
}

/**
 * Pins this whole test process (every thread) to CPU 0 with taskset, as the emulator's default
 * CPU: the kernel's LRU lists are per CPU, so only a pinned caller sees deterministic evictions.
 * Skips without taskset (in CI a failure, like a missing kernel).
 */
export function pinnedToCpu0(t: TestContext): boolean {
  try {
    pinTo(0);
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`CI needs taskset to pin the LRU tests to one CPU: ${String(e)}`);
    t.skip(`taskset unavailable: ${String(e)}`);
    return false;
  }
  return true;
}

/** Moves this whole process to one CPU (taskset) and checks that it took. */
export function pinTo(cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
  const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (allowed !== String(cpu)) throw new Error(`taskset did not pin the test to CPU ${cpu} (allowed: ${allowed ?? '?'})`);
}
