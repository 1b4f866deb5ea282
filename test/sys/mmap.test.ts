import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_RINGBUF } from '../../src/sys/constants.js';
import { sysMapLookupElem, sysMapUpdateElem } from '../../src/sys/map-elem.js';
import { MmapError, mapMemory, unmapMemory } from '../../src/sys/mmap.js';
import { assertNoDetach } from '../helpers/detach.js';
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
    // The buffer stays in bounds but no longer reaches the map: zero pages, both ways.
    assert.equal(mem.byteLength, 16 * 8, 'an unmapped buffer is not detached');
    assert.equal(counters[3], 0n, 'an unmapped buffer reads zeros, not the map');
    counters[3] = 9n;
    assert.equal(sysMapLookupElem(fd, u32(3), 4, v, 8, 0), 0);
    assert.equal(v.readBigUInt64LE(0), 42n, 'a write to an unmapped buffer does not reach the map');
    unmapMemory(mem); // a second unmap is a no-op
    assert.equal(counters[3], 9n);
  } finally {
    k.close(fd);
  }
});

// Unmapping must not detach a buffer (test/helpers/detach.ts says why).
test('unmapping an array and a ring detaches no buffer, so V8 keeps its typed-array fast paths', (t) => {
  if (!linuxAvailable(t)) return;
  const url = (p: string): string => new URL(p, import.meta.url).href;
  assertNoDetach(`
    const { LinuxKernel } = await import(${JSON.stringify(url('../../src/kernel/linux.js'))});
    const { mapMemory, unmapMemory } = await import(${JSON.stringify(url('../../src/sys/mmap.js'))});
    const { mapRing } = await import(${JSON.stringify(url('../../src/sys/ringbuf.js'))});
    const k = new LinuxKernel();
    const array = k.mapCreate({ mapType: ${BPF_MAP_TYPE_ARRAY}, keySize: 4, valueSize: 8, maxEntries: 512, mapFlags: ${BPF_F_MMAPABLE} });
    const ring = k.mapCreate({ mapType: ${BPF_MAP_TYPE_RINGBUF}, keySize: 0, valueSize: 0, maxEntries: 4096, mapFlags: 0 });
    const mem = mapMemory(array, 4096, 0, true);
    new BigUint64Array(mem)[1] = 5n;
    unmapMemory(mem);
    mapRing(ring, 4096, false).unmap();
    k.close(array);
    k.close(ring);
  `);
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
