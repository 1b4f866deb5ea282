import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY } from '../../src/sys/constants.js';
import { sysMapLookupElem, sysMapUpdateElem } from '../../src/sys/map-elem.js';
import { MmapError, mapMemory, unmapMemory } from '../../src/sys/mmap.js';
import { linuxAvailable, u32, u64 } from '../helpers/kernel.js';

const PAGE = 4096;

test('an mmapable array shares its memory with element calls, both ways, until unmapped', (t) => {
  if (!linuxAvailable(t)) return;
  const k = new LinuxKernel();
  const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: BPF_F_MMAPABLE });
  try {
    const mem = mapMemory(fd, 16 * 8, 0, true);
    const counters = new BigUint64Array(mem);
    assert.equal(sysMapUpdateElem(fd, u32(3), 4, u64(42), 8, 0), 0);
    assert.equal(counters[3], 42n, 'an UPDATE_ELEM is seen in the mapping');
    counters[5] = 7n;
    const v = Buffer.alloc(8);
    assert.equal(sysMapLookupElem(fd, u32(5), 4, v, 8, 0), 0);
    assert.equal(v.readBigUInt64LE(0), 7n, 'a write to the mapping is seen by LOOKUP_ELEM');
    unmapMemory(mem);
    assert.equal(mem.byteLength, 0, 'an unmapped buffer is detached');
    assert.equal(counters.length, 0);
    unmapMemory(mem); // a second unmap is a no-op
  } finally {
    k.close(fd);
  }
});

test('mmap refuses what the kernel or the addon cannot map, with the errno', (t) => {
  if (!linuxAvailable(t)) return;
  const k = new LinuxKernel();
  const plain = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
  const mm = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: BPF_F_MMAPABLE });
  try {
    assert.throws(
      () => mapMemory(plain, PAGE, 0, false),
      (e: unknown) => e instanceof MmapError && e.errno > 0,
    );
    // Past the array's pages: the kernel refuses, nothing is mapped.
    assert.throws(() => mapMemory(mm, 4 * PAGE, 0, false), MmapError);
    assert.throws(() => mapMemory(mm, PAGE, 1, false), RangeError, 'an offset that is not a whole page');
    assert.throws(() => mapMemory(mm, 0, 0, false), RangeError, 'an empty mapping');
    assert.throws(() => mapMemory(mm, -1, 0, false), RangeError);
    assert.throws(() => unmapMemory(new ArrayBuffer(8)), TypeError, 'a buffer mmap did not make');
    const ro = new BigUint64Array(mapMemory(mm, PAGE, 0, false));
    assert.equal(ro[0], 0n);
  } finally {
    k.close(plain);
    k.close(mm);
  }
});
