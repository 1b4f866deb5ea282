import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBtf } from '../../src/btf/encode.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BpfMap } from '../../src/map/map.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS } from '../../src/sys/constants.js';
import { errno } from '../../src/sys/errno.js';
import { emuStoreDir, linuxAvailable, u32 } from '../helpers/kernel.js';

const isErr = (code: string) => (e: unknown) => e instanceof BpfError && e.code === code;

/** What happens to ids as fds close and outer maps let go, as one comparable list. */
function lifetimes(k: Kernel): string[] {
  const out: string[] = [];
  const alive = (id: number): string => {
    try {
      k.close(k.mapFdById(id));
      return 'alive';
    } catch (e) {
      if (isErr('ENOENT')(e)) return 'freed';
      throw e;
    }
  };
  const a = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  const idA = k.mapInfo(a).id;
  const again = k.mapFdById(idA);
  k.update(again, u32(0), u32(7), 0);
  const v = Buffer.alloc(4);
  k.lookup(a, u32(0), v, 0);
  out.push(`second fd writes the same map: ${v.readUInt32LE(0)}`);
  k.close(a);
  out.push(`one fd left: ${alive(idA)}`);
  k.close(again);
  out.push(`no fd left: ${alive(idA)}`);
  const inner = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  const idI = k.mapInfo(inner).id;
  const outer = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0, innerMapFd: inner });
  const idO = k.mapInfo(outer).id;
  out.push(`ids grow: ${idO > idI && idI > idA}`);
  k.update(outer, u32(0), u32(inner), 0);
  k.update(outer, u32(1), u32(inner), 0);
  k.close(inner);
  out.push(`held by an outer map: ${alive(idI)}`);
  k.delete(outer, u32(0));
  out.push(`held by the other slot: ${alive(idI)}`);
  k.delete(outer, u32(1));
  out.push(`let go: ${alive(idI)}`);
  const next = k.nextMapId(idA);
  out.push(`next id after a freed one: ${next !== null && next > idA}`);
  k.close(outer);
  out.push(`outer closed: ${alive(idO)}`);
  return out;
}

test('ids and lifetimes: a map lives while an fd or an outer map holds it, on both kernels', (t) => {
  const emu = lifetimes(new EmulatedKernel({ dir: emuStoreDir() }));
  assert.deepEqual(emu, [
    'second fd writes the same map: 7', 'one fd left: alive', 'no fd left: freed', 'ids grow: true',
    'held by an outer map: alive', 'held by the other slot: alive', 'let go: freed', 'next id after a freed one: true', 'outer closed: freed',
  ]);
  if (!linuxAvailable(t)) return;
  assert.deepEqual(lifetimes(new LinuxKernel()), emu);
});

test('fds: the lowest free number is reused; listMaps, fromId and fromName see emulated maps', () => {
  const k = new EmulatedKernel({ dir: emuStoreDir() });
  const a = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  const b = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, name: 'second' });
  assert.equal(b, a + 1);
  k.close(a);
  assert.equal(k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 }), a);
  using byName = BpfMap.fromName('second', { kernel: k });
  assert.equal(byName.id, k.mapInfo(b).id);
  assert.deepEqual(BpfMap.fromId(byName.id, { kernel: k }).info().name, 'second');
  assert.throws(() => k.pin(k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, innerMapFd: b }), '/sys/fs/bpf/mim'), (e: unknown) => e instanceof BpfError && e.errno === errno.EOPNOTSUPP);
});

test('possible CPUs are configurable: per-CPU values follow', () => {
  const k = new EmulatedKernel({ cpus: 5, dir: emuStoreDir() });
  using m = BpfMap.create({ kernel: k, type: 'percpu_array', keySize: 4, valueSize: 12, maxEntries: 2 });
  assert.equal(m.cpus, 5);
  assert.equal(k.sizes(m.fd).valueBytes, 16 * 5);
  m.set(u32(1), Array.from({ length: 5 }, (_, i) => Buffer.alloc(12, i)));
  assert.deepEqual((m.get(u32(1)) as Buffer[]).map((b) => b[0]), [0, 1, 2, 3, 4]);
  assert.throws(() => new EmulatedKernel({ cpus: 0 }), RangeError);
});

test('map and BTF fds are numbered from one table, as the kernel has one: the lowest free fd, never shared', () => {
  const k = new EmulatedKernel({ dir: emuStoreDir() });
  const blob = encodeBtf([{ kind: 'int', name: 'u32', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 }]);
  const map = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  const btf = k.btfLoad(blob);
  assert.deepEqual([map, btf], [3, 4]);
  k.close(map);
  const next = k.btfLoad(blob);
  assert.equal(next, 3, 'the BTF object takes the lowest free fd, the one the map gave back');
  const map2 = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  assert.equal(map2, 5);
  // A BTF fd is no map fd: the map commands refuse it as they refuse a closed one.
  assert.throws(() => k.lookup(btf, u32(0), Buffer.alloc(4), 0), isErr('EBADF'));
  for (const fd of [btf, next, map2]) k.close(fd);
  assert.equal(k.btfLoad(blob), 3);
});
