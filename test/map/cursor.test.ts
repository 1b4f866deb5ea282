import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BatchCursor } from '../../src/map/cursor.js';
import { BpfMap } from '../../src/map/map.js';
import { emuStoreDir } from '../helpers/kernel.js';

test('a refused cursor says why: another map, another kernel object, or the wrong length (never "map id N, not map id N")', () => {
  const kernel = new EmulatedKernel({ dir: emuStoreDir() });
  using a = BpfMap.create({ kernel, type: 'hash', keySize: 8, valueSize: 4, maxEntries: 4 });
  using b = BpfMap.create({ kernel, type: 'hash', keySize: 8, valueSize: 4, maxEntries: 4 });
  const { cursor } = a.lookupBatchRaw({ count: 1 });
  assert.throws(() => b.lookupBatch({ cursor }), new RegExp(`cursor belongs to map id ${a.id}, not to map id ${b.id}`));
  const short = new BatchCursor(kernel, a.id, Buffer.alloc(3));
  assert.throws(
    () => a.lookupBatch({ cursor: short }),
    (e: Error) => {
      assert.match(e.message, new RegExp(`^cursor holds 3 bytes, but map id ${a.id}'s cursors are 8 \\(max\\(key_size, 4\\)\\)`));
      assert.doesNotMatch(e.message, /belongs to/);
      return true;
    },
  );
  const elsewhere = new BatchCursor(new EmulatedKernel({ dir: emuStoreDir() }), a.id, Buffer.alloc(8));
  assert.throws(() => a.lookupBatch({ cursor: elsewhere }), /cursor comes from another kernel object \(emulated\)/);
});
