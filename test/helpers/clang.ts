import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pinPath } from './kernel.js';

let found: boolean | undefined;

/** True when clang can build BPF objects; the test is skipped without it, except in CI, where it fails. */
export function clangAvailable(t: TestContext): boolean {
  if (found === undefined) {
    try {
      execFileSync('clang', ['--version'], { stdio: 'ignore' });
      found = true;
    } catch {
      found = false;
    }
  }
  if (found) return true;
  if (process.env.CI === 'true') throw new Error('CI needs clang to build the BPF test programs (apt-get install clang)');
  t.skip('clang is not installed');
  return false;
}

/**
 * What a BPF C file needs without libbpf's headers: the kernel's fixed-width types, the
 * network-order typedefs, SEC() and the map definition macros, and the helpers by number.
 */
export const BPF_PRELUDE = `
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
struct xdp_md { __u32 data; __u32 data_end; __u32 data_meta; __u32 ingress_ifindex; __u32 rx_queue_index; __u32 egress_ifindex; };
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
char LICENSE[] SEC("license") = "GPL";
`;

/** A BPF program built by clang and loaded by bpftool (prog loadall ... pinmaps): its pins, removed by close(). */
export interface LoadedObject extends Disposable {
  /** The directory of the program pins. */
  progs: string;
  /** The directory of the map pins (libbpf's names: "g_bss" for the .bss of g.o). */
  maps: string;
  close(): void;
}

/** Compiles source (after BPF_PRELUDE) as `name`.c with clang -target bpf and loads it with bpftool; pins under fresh paths. */
export function loadBpfObject(bpftool: string, name: string, source: string): LoadedObject {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-clang-'));
  const progs = pinPath(`${name}-progs`);
  const maps = pinPath(`${name}-maps`);
  const close = (): void => {
    rmSync(progs, { recursive: true, force: true });
    rmSync(maps, { recursive: true, force: true });
  };
  try {
    const src = join(dir, `${name}.c`);
    const obj = join(dir, `${name}.o`);
    writeFileSync(src, BPF_PRELUDE + source);
    execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-c', src, '-o', obj], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    execFileSync(bpftool, ['prog', 'loadall', obj, progs, 'pinmaps', maps], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (e) {
    close();
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { progs, maps, close, [Symbol.dispose]: close };
}

/** Runs a pinned program once per repeat with bpftool prog run on a zeroed packet of len bytes. */
export function runProgram(bpftool: string, pinned: string, len: number, repeat = 1): void {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-pkt-'));
  try {
    const pkt = join(dir, 'pkt');
    writeFileSync(pkt, Buffer.alloc(len));
    execFileSync(bpftool, ['prog', 'run', 'pinned', pinned, 'data_in', pkt, 'repeat', String(repeat)], { stdio: 'ignore' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
