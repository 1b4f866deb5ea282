import assert from 'node:assert/strict';
import { mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_MAP_TYPE_ARRAY } from '../../src/sys/constants.js';
import { emuStoreDir, linuxAvailable, pinPath, u32 } from '../helpers/kernel.js';

type PathOp = ['pin', 'a' | 'b', string] | ['get', string] | ['unpin', string];

/** Runs path operations on a kernel; one outcome string each: which map a get opened, or the errno. */
function run(kernel: Kernel, unpin: (path: string) => boolean, ops: PathOp[]): string[] {
  const maps = { a: 0, b: 0 };
  for (const [name, marker] of [['a', 1], ['b', 2]] as const) {
    maps[name] = kernel.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
    kernel.update(maps[name], u32(0), u32(marker), 0);
  }
  const out: string[] = [];
  for (const op of ops) {
    try {
      if (op[0] === 'pin') {
        kernel.pin(maps[op[1]], op[2]);
        out.push('ok');
      } else if (op[0] === 'get') {
        const fd = kernel.objGet(op[1], 0);
        const v = Buffer.alloc(4);
        kernel.lookup(fd, u32(0), v, 0);
        kernel.close(fd);
        out.push(`map ${v.readUInt32LE(0) === 1 ? 'a' : 'b'}`);
      } else {
        out.push(String(unpin(op[1])));
      }
    } catch (e) {
      if (e instanceof BpfError) out.push(e.code);
      else if (e instanceof TypeError) out.push('TypeError');
      else throw e;
    }
  }
  kernel.close(maps.a);
  kernel.close(maps.b);
  return out;
}

/** A path of exactly n bytes ending in a pin name, through "sub/../" detours. */
function pathOfLength(base: string, n: number): string {
  let p = `${base}/`;
  while (n - p.length > 200) p += 'sub/../';
  return p + 'L'.repeat(n - p.length);
}

test('differential: pin paths resolve as on Linux (//, /./, .., trailing /, NUL, PATH_MAX, NAME_MAX, relative)', (t) => {
  if (!linuxAvailable(t)) return;
  // A unique directory on the real bpffs, with a subdirectory to walk through; the emulated
  // bpffs has no directories, but ".." and "." resolve the same through one.
  const base = pinPath('paths');
  mkdirSync(`${base}/sub`, { recursive: true });
  const tmpName = `/tmp/bpfmap-test-nopin-${process.pid}-${randomBytes(4).toString('hex')}`;
  const ops: PathOp[] = [
    ['pin', 'a', `${base}/a`],
    ['pin', 'b', `${base}//a`],
    ['pin', 'b', `${base}/./a`],
    ['pin', 'b', `${base}/sub/../a`],
    ['pin', 'b', `${base}/a/`],
    ['get', `${base}//a`],
    ['get', `${base}/./a`],
    ['get', `${base}/sub/../a`],
    ['get', `${base}/sub/./../sub/../a`],
    ['get', `/../${base}/a`],
    ['get', `${base}/a/`],
    ['pin', 'b', `${base}/a/../b`],
    ['get', `${base}/a/x`],
    ['pin', 'b', `${base}/sub/../b`],
    ['get', `${base}/b`],
    ['pin', 'b', `${base}/c/`],
    ['get', `${base}/c/`],
    ['pin', 'a', ''],
    ['get', ''],
    ['pin', 'a', `${base}/a\0junk`],
    ['get', `${base}/b\0`],
    ['pin', 'a', `${base}/${'n'.repeat(255)}`],
    ['get', `${base}/${'n'.repeat(255)}`],
    ['pin', 'a', `${base}/${'n'.repeat(256)}`],
    ['get', `${base}/${'n'.repeat(256)}/x`],
    ['pin', 'b', pathOfLength(base, 4095)],
    ['get', pathOfLength(base, 4095)],
    ['pin', 'b', pathOfLength(base, 4096)],
    ['get', pathOfLength(base, 4096)],
    ['pin', 'a', '/sys/fs/bpf'],
    ['pin', 'a', '/sys/fs/bpf/'],
    ['get', '/sys/fs/bpf/'],
    ['pin', 'a', `${base}/sub/..`],
    ['get', `${base}/sub/.`],
    ['get', `${base}/.`],
    ['pin', 'a', '/sys/fs/bpf/../x'],
    ['get', '/sys/fs/bpf/../x'],
    ['pin', 'a', tmpName],
    ['get', tmpName],
    ['pin', 'a', `${tmpName}/x`],
    ['get', `/tmp/${'z'.repeat(256)}`],
    ['unpin', `${base}/sub/../a`],
    ['get', `${base}/a`],
    ['pin', 'b', `${base}/./a`],
    ['get', `${base}/a`],
  ];
  const linux = new LinuxKernel();
  const emulated = new EmulatedKernel({ dir: emuStoreDir() });
  const cwd = process.cwd();
  let onLinux: string[];
  let onEmu: string[];
  try {
    onLinux = run(linux, (p) => {
      unlinkSync(p);
      return true;
    }, ops);
    onEmu = run(emulated, (p) => emulated.unpin(p), ops);
    // Relative paths resolve from the working directory, on both.
    process.chdir(base);
    const relative: PathOp[] = [['pin', 'a', 'rel'], ['get', `${base}/rel`], ['get', './rel'], ['pin', 'b', `../${base.split('/').pop() as string}/rel`]];
    onLinux.push(...run(linux, () => false, relative));
    onEmu.push(...run(emulated, () => false, relative));
  } finally {
    process.chdir(cwd);
    rmSync(base, { recursive: true, force: true });
  }
  const show = (outs: string[]) => outs.map((o, i) => `${i} ${ops[i]?.[0] ?? 'rel'} ${JSON.stringify(ops[i]?.at(-1) ?? '').slice(0, 60)}: ${o}`);
  assert.deepEqual(show(onEmu), show(onLinux));
  // And they are what the kernel says they are (not two kernels agreeing on something else).
  assert.deepEqual(onLinux.slice(0, 5), ['ok', 'EEXIST', 'EEXIST', 'EEXIST', 'EEXIST']);
  assert.ok(onLinux.includes('ENAMETOOLONG') && onLinux.includes('ENOTDIR') && onLinux.includes('TypeError'));
});

test('pin paths: a NUL in the path is a TypeError before any syscall, on both kernels', (t) => {
  const kernels: Kernel[] = [new EmulatedKernel({ dir: emuStoreDir() })];
  if (linuxAvailable(t)) kernels.push(new LinuxKernel());
  for (const k of kernels) {
    const path = pinPath('nul');
    // An fd that is not open: the path is refused before the fd is even looked at.
    assert.throws(() => k.pin(999_999, `${path}\0x`), TypeError, k.kind);
    assert.throws(() => k.objGet(`${path}\0x`, 0), TypeError, k.kind);
    const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
    assert.throws(() => k.pin(fd, `${path}\0x`), /NUL/, k.kind);
    assert.throws(() => k.objGet(path, 0), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT', `${k.kind}: nothing pinned at the cut path`);
    k.close(fd);
  }
});
