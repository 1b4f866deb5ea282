import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfMap } from '../../src/map/map.js';
import { u32, u64 } from '../helpers/kernel.js';

test('emulated maps keep their own copies of keys and values handed in as Buffers', () => {
  const kernel = new EmulatedKernel();
  for (const type of ['hash', 'array'] as const) {
    using m = BpfMap.create({ kernel, type, keySize: 4, valueSize: 8, maxEntries: 4 });
    // BpfMap encodes every key and value into the same scratch Buffers.
    m.set(u32(1), u64(10));
    m.set(u32(2), u64(20));
    m.updateBatch([[u32(3), u64(30)]]);
    m.set(u32(0), u64(0));
    assert.deepEqual(m.get(u32(1)), u64(10), type);
    assert.deepEqual(m.get(u32(2)), u64(20), type);
    assert.deepEqual(m.get(u32(3)), u64(30), type);
    assert.deepEqual([...m.keys()].map((k) => (k as Buffer).readUInt32LE(0)).sort(), [0, 1, 2, 3], type);
  }
});
