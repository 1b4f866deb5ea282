import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_EXIST, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH } from '../../src/sys/constants.js';
import { linuxAvailable, u32 } from '../helpers/kernel.js';

function keysOf(k: Kernel, fd: number): number[] {
  const out: number[] = [];
  const next = Buffer.alloc(4);
  let key: Buffer | null = null;
  while (k.nextKey(fd, key, next)) {
    out.push(next.readUInt32LE(0));
    key = Buffer.from(next);
  }
  return out.sort((a, b) => a - b);
}

for (const type of [BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]) {
  test(`LRU (type ${type}) on the emulator: never past max_entries, the least recently updated goes first`, () => {
    const k = new EmulatedKernel();
    const cpus = k.possibleCpus();
    const value = Buffer.alloc(type === BPF_MAP_TYPE_LRU_HASH ? 8 : 8 * cpus);
    const fd = k.mapCreate({ mapType: type, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: 0 });
    for (let i = 0; i < 6; i++) k.update(fd, u32(i), value, 0);
    // Updating 0 and 1 makes them the most recent; lookups by syscall do not count (as in the kernel).
    k.update(fd, u32(0), value, BPF_EXIST);
    k.update(fd, u32(1), value, 0);
    k.lookup(fd, u32(2), value, 0);
    for (let i = 100; i < 104; i++) k.update(fd, u32(i), value, 0);
    assert.deepEqual(keysOf(k, fd), [0, 1, 4, 5, 100, 101, 102, 103]);
    for (let i = 200; i < 300; i++) {
      k.update(fd, u32(i), value, 0);
      assert.ok(keysOf(k, fd).length <= 8);
    }
    assert.deepEqual(keysOf(k, fd), [292, 293, 294, 295, 296, 297, 298, 299]);
    k.close(fd);
  });

  test(`LRU (type ${type}) on the real kernel: also never past max_entries under the same load`, (t) => {
    if (!linuxAvailable(t)) return;
    const k = new LinuxKernel();
    const value = Buffer.alloc(type === BPF_MAP_TYPE_LRU_HASH ? 8 : 8 * k.possibleCpus());
    const fd = k.mapCreate({ mapType: type, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: 0 });
    for (let i = 0; i < 300; i++) {
      k.update(fd, u32(i), value, 0);
      assert.ok(keysOf(k, fd).length <= 8);
    }
    assert.ok(keysOf(k, fd).includes(299), 'the newest element stays');
    k.close(fd);
  });
}
