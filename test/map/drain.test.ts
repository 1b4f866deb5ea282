import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { putBack } from '../../src/map/drain.js';
import { BpfMap } from '../../src/map/map.js';
import { testKernels, u32, u64 } from '../helpers/kernel.js';

describe('putBack', () => {
  for (const k of testKernels())
    test(`restores drained entries; a key re-created meanwhile keeps its new value; a full map says E2BIG (${k.name})`, (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: k.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      for (let i = 0; i < 4; i++) map.set(u32(i), u64(i * 10));
      const drained = map.lookupAndDeleteBatchRaw({ count: 4 });
      assert.equal(drained.count, 4);
      assert.equal(map.dump().count, 0);
      map.set(u32(2), u64(999)); // a program re-creates key 2 after the drain
      const r = putBack(map, drained.keys, drained.values, drained.count);
      assert.deepEqual(r, { restored: 3, recreated: 1, failed: new Map() });
      for (let i = 0; i < 4; i++) assert.deepEqual(map.get(u32(i)), u64(i === 2 ? 999 : i * 10));

      map.deleteBatch({ keys: Buffer.concat([u32(0), u32(1), u32(2), u32(3)]) });
      for (let i = 10; i < 13; i++) map.set(u32(i), u64(i)); // the map fills up meanwhile: room for one more
      const full = putBack(map, drained.keys, drained.values, drained.count);
      assert.equal(full.restored, 1);
      assert.equal(full.recreated, 0);
      assert.deepEqual([...full.failed], [['E2BIG', 3]]);
    });
});
