import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap, type RawValue } from '../../src/map/map.js';
import { BatchCursor } from '../../src/map/cursor.js';
import { testKernels, u32, u64 } from '../helpers/kernel.js';
import { closeFixture, entryText, fixture, ITERABLE_TYPES, type Raw } from '../helpers/maps.js';

const isErr = (code: string, count?: number) => (e: unknown) =>
  e instanceof BpfError && e.code === code && (count === undefined || e.count === count);
const failedAfter = (code: string, applied: number) => (e: unknown) =>
  e instanceof BpfError && e.code === code && e.applied === applied;

/** Walks with LOOKUP_BATCH calls of `size`, doubling a call's count only on ENOSPC, to the kernel's ENOENT. */
function walk(map: Raw, size: number): { texts: string[]; calls: number } {
  const texts: string[] = [];
  let cursor: BatchCursor | null = null;
  let calls = 0;
  for (;;) {
    let count = size;
    let r;
    for (;;) {
      try {
        r = map.lookupBatch({ cursor, count });
        break;
      } catch (e) {
        if (!isErr('ENOSPC', 0)(e)) throw e;
        count *= 2;
      }
    }
    calls++;
    assert.ok(r.count <= count, `count out ${r.count} <= capacity ${count}`);
    for (let i = 0; i < r.count; i++) texts.push(entryText(r.keys[i] as Buffer, r.values[i] as RawValue));
    if (r.done) return { texts, calls };
    cursor = r.cursor;
  }
}

for (const K of testKernels()) {
  describe(`batch commands on ${K.name}`, () => {
    test('LOOKUP_BATCH returns every entry exactly once in batch sizes 1, 2, 7, 64 and more than the map', (t) => {
      if (!K.available(t)) return;
      for (const type of ITERABLE_TYPES) {
        const f = fixture(K.kernel(), type);
        try {
          for (const size of [1, 2, 7, 64, 10_000]) {
            const { texts, calls } = walk(f.map, size);
            assert.equal(new Set(texts).size, texts.length, `${type} size ${size}: no duplicates`);
            assert.deepEqual(new Set(texts), f.expected, `${type} size ${size}: every entry`);
            if (size >= 64) assert.ok(calls <= 2, `${type}: a large batch needs at most one call plus the end`);
          }
        } finally {
          closeFixture(f);
        }
      }
    });

    test('an empty map answers done with count 0; count 0 returns nothing and is not an error', (t) => {
      if (!K.available(t)) return;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
      const r = m.lookupBatch({ count: 8 });
      assert.equal(r.count, 0);
      assert.equal(r.done, true);
      m.set(u32(1), u64(1));
      const z = m.lookupBatch({ count: 0 });
      assert.equal(z.count, 0);
      assert.equal(z.done, false);
    });

    test('a cursor resumes across separate calls and belongs to its map', (t) => {
      if (!K.available(t)) return;
      const f = fixture(K.kernel(), 'hash', 40);
      try {
        const first = f.map.lookupBatch({ count: 16 });
        assert.equal(first.done, false);
        const seen = first.keys.map((k, i) => entryText(k, first.values[i] as RawValue));
        let cursor = first.cursor;
        assert.equal(cursor.bytes.length, 4, 'hash cursor: a bucket index');
        // A later call, after unrelated work on another map, continues where the first stopped.
        using other = BpfMap.create({ kernel: K.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 });
        other.set(u32(0), u32(5));
        assert.throws(() => other.lookupBatch({ cursor, count: 4 }), /cursor belongs to map id/);
        assert.throws(() => f.map.lookupBatch({ cursor: { bytes: Buffer.alloc(4) } as unknown as BatchCursor }), TypeError);
        for (;;) {
          const r = f.map.lookupBatch({ cursor, count: 16 });
          r.keys.forEach((k, i) => seen.push(entryText(k, r.values[i] as RawValue)));
          if (r.done) break;
          cursor = r.cursor;
        }
        assert.equal(seen.length, 40);
        assert.deepEqual(new Set(seen), f.expected);
        const arr = fixture(K.kernel(), 'array', 10);
        try {
          const a = arr.map.lookupBatch({ count: 3 });
          assert.deepEqual(a.cursor.toBuffer(), u32(2), 'generic path: the cursor is the last key');
        } finally {
          closeFixture(arr);
        }
      } finally {
        closeFixture(f);
      }
    });

    test('ENOSPC on a crowded bucket with nothing copied; iteration grows the batch and goes on', (t) => {
      if (!K.available(t)) return;
      // 64 keys in 64 buckets with the zero seed: some bucket certainly holds two or more.
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64, flags: ['zero_seed'] });
      for (let i = 0; i < 64; i++) m.set(u32(i), u64(i));
      let cursor: BatchCursor | null = null;
      let enospc = 0;
      let got = 0;
      for (;;) {
        try {
          const r = m.lookupBatch({ cursor, count: 1 });
          got += r.count;
          if (r.done) break;
          cursor = r.cursor;
        } catch (e) {
          assert.ok(isErr('ENOSPC', 0)(e), String(e));
          assert.match((e as Error).message, /larger count/);
          enospc++;
          const r = m.lookupBatch({ cursor, count: 64 });
          assert.ok(r.count >= 2, 'the crowded bucket comes out whole');
          got += r.count;
          if (r.done) break;
          cursor = r.cursor;
        }
      }
      assert.ok(enospc > 0, 'a crowded bucket was met');
      assert.equal(got, 64);
      const it = m.entries({ batchSize: 1 });
      assert.equal(it.mode, 'batch');
      assert.equal([...it].length, 64);
    });

    test('LOOKUP_AND_DELETE_BATCH leaves the map empty; drain returns each entry once', (t) => {
      if (!K.available(t)) return;
      for (const type of ['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash', 'hash_of_maps'] as const) {
        const f = fixture(K.kernel(), type);
        try {
          const texts: string[] = [];
          let cursor: BatchCursor | null = null;
          for (;;) {
            const r = f.map.lookupAndDeleteBatch({ cursor, count: 7 });
            r.keys.forEach((k, i) => texts.push(entryText(k, r.values[i] as RawValue)));
            if (r.done) break;
            cursor = r.cursor;
          }
          assert.deepEqual(new Set(texts), f.expected, type);
          assert.equal(texts.length, f.expected.size, `${type}: once each`);
          assert.equal(f.map.nextKey(), undefined, `${type}: empty`);
        } finally {
          closeFixture(f);
        }
      }
      const g = fixture(K.kernel(), 'hash', 300);
      try {
        const drained = g.map.drain({ batchSize: 5 });
        assert.deepEqual(new Set(drained.map(([k, v]) => entryText(k, v))), g.expected);
        assert.equal(drained.length, 300);
        assert.equal(g.map.drain().length, 0);
      } finally {
        closeFixture(g);
      }
    });

    test('UPDATE_BATCH and DELETE_BATCH stop at the first failing element and report how many were applied', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using h = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      assert.equal(h.updateBatch([[u32(1), u64(1)], [u32(2), u64(2)]]), 2);
      assert.throws(() => h.updateBatch([[u32(3), u64(3)], [u32(4), u64(4)], [u32(5), u64(5)], [u32(6), u64(6)]]), (e: unknown) => {
        assert.ok(failedAfter('E2BIG', 2)(e), String(e));
        assert.match((e as Error).message, /after 2 element\(s\) applied/);
        return true;
      });
      assert.deepEqual(new Set([...h.keys()].map((k) => k.readUInt32LE(0))), new Set([1, 2, 3, 4]), 'nothing after the failure');
      assert.throws(() => h.deleteBatch([u32(1), u32(2), u32(9), u32(3)]), failedAfter('ENOENT', 2));
      assert.deepEqual([...h.keys()].map((k) => k.readUInt32LE(0)).sort(), [3, 4]);
      assert.equal(h.deleteBatch({ keys: Buffer.concat([u32(3), u32(4)]) }), 2);

      using a = BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 4, maxEntries: 3 });
      assert.throws(() => a.updateBatch({ keys: [u32(0), u32(1), u32(7), u32(2)], values: [u32(10), u32(11), u32(12), u32(13)] }), failedAfter('E2BIG', 2));
      assert.deepEqual([...a.values()], [u32(10), u32(11), u32(0)]);
      assert.throws(() => a.deleteBatch([u32(0), u32(1)]), (e: unknown) => isErr('ENOTSUPP', 2)(e) && failedAfter('ENOTSUPP', 0)(e));

      // Chunks: the applied count covers every chunk before the failing one.
      using big = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 100 });
      const entries = Array.from({ length: 101 }, (_, i) => [u32(i), u64(i)] as const);
      assert.throws(() => big.updateBatch(entries, { chunkSize: 7 }), failedAfter('E2BIG', 100));
      assert.equal(big.dump().count, 100);
      assert.equal(big.deleteBatch(Array.from({ length: 100 }, (_, i) => u32(i)), { chunkSize: 9 }), 100);
    });

    test('bad flags: EINVAL with count left as written', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using h = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
      h.set(u32(1), u64(1));
      assert.throws(() => h.lookupBatch({ count: 5, flags: 1 }), isErr('EINVAL', 5));
      assert.throws(() => h.lookupBatch({ count: 5, elemFlags: 1 }), isErr('EINVAL', 5));
      assert.throws(() => h.lookupBatch({ count: 5, lock: true }), (e: unknown) => isErr('EINVAL', 5)(e) && /bpf_spin_lock/.test((e as Error).message));
      assert.throws(() => h.lookupAndDeleteBatch({ count: 6, flags: 2 }), isErr('EINVAL', 6));
      assert.throws(() => h.updateBatch([[u32(2), u64(2)], [u32(3), u64(3)]], { elemFlags: 1 }), (e: unknown) => isErr('EINVAL', 2)(e) && failedAfter('EINVAL', 0)(e));
      assert.throws(() => h.deleteBatch([u32(1)], { elemFlags: 2 }), isErr('EINVAL', 1));
      assert.deepEqual([...h.keys()], [u32(1)], 'nothing changed');
      // The kernel checks `flags` only on the lookup commands: UPDATE/DELETE_BATCH ignore it (6.18).
      assert.equal(h.updateBatch([[u32(2), u64(2)]], { flags: 1 }), 1);
      assert.equal(h.deleteBatch([u32(2)], { flags: 1 }), 1);
      assert.throws(() => h.lookupBatch({ count: -1 }), RangeError);
      assert.throws(() => h.lookupBatch({ count: 1.5 }), RangeError);
      assert.throws(() => h.lookupBatch({ count: Number.NaN }), RangeError);
      assert.throws(() => h.lookupBatch({ count: 2 ** 40 }), RangeError);
      assert.throws(() => h.lookupBatch({ count: 2 ** 31 }), /2 GiB/);
    });

    test('unsupported types: ENOTSUPP where the spec says so; iteration falls back, drain refuses', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      for (const type of ['array', 'percpu_array', 'lpm_trie', 'array_of_maps'] as const) {
        const f = fixture(kernel, type, 8);
        try {
          assert.throws(() => f.map.lookupAndDeleteBatch({ count: 4 }), isErr('ENOTSUPP'), type);
          assert.throws(() => f.map.drain(), (e: unknown) => isErr('ENOTSUPP')(e) && /does not fall back/.test((e as Error).message), type);
        } finally {
          closeFixture(f);
        }
      }
      for (const type of ['queue', 'stack'] as const) {
        using q = BpfMap.create({ kernel, type, keySize: 0, valueSize: 4, maxEntries: 4 });
        q.push(u32(1));
        assert.throws(() => q.lookupBatch({ count: 4 }), isErr('ENOTSUPP'));
        assert.throws(() => q.updateBatch({ keys: Buffer.alloc(0), values: u32(1) }), TypeError);
      }
      // prog_array has GET_NEXT_KEY but no batch lookup: iteration takes the per-element walk.
      using pa = BpfMap.create({ kernel, type: 3, keySize: 4, valueSize: 4, maxEntries: 4 });
      const it = pa.entries();
      assert.equal(it.mode, 'per-element');
      assert.deepEqual([...it], [], 'empty slots are skipped');
      assert.throws(() => [...pa.entries({ mode: 'batch' })], isErr('ENOTSUPP'));
    });

    test('per-CPU batches: one 12-byte value per CPU, padding never in user data', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      for (const type of ['percpu_hash', 'percpu_array', 'lru_percpu_hash'] as const) {
        const f = fixture(kernel, type, 10);
        try {
          const r = f.map.lookupBatch({ count: 100 });
          assert.equal(r.count, 10);
          for (const v of r.values) {
            assert.ok(Array.isArray(v) && v.length === f.map.cpus);
            for (const b of v) assert.equal(b.length, 12);
          }
          const raw = f.map.lookupBatchRaw({ count: 100 });
          assert.equal(raw.values.length, 10 * 16 * f.map.cpus, 'raw bytes keep the kernel stride');
          // Update batch of per-CPU values round-trips exactly.
          const keys = r.keys;
          const values = r.values.map((v) => (v as Buffer[]).map((b) => Buffer.from(b).reverse()));
          assert.equal(f.map.updateBatch({ keys, values }), 10);
          const back = new Map([...f.map.entries()].map(([k, v]) => [k.toString('hex'), v as Buffer[]]));
          keys.forEach((k, i) => assert.deepEqual(back.get(k.toString('hex')), values[i]));
        } finally {
          closeFixture(f);
        }
      }
    });

    test('read-only, write-only and frozen maps', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using ro = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, flags: ['rdonly'] });
      assert.equal(ro.lookupBatch({ count: 4 }).done, true);
      assert.throws(() => ro.updateBatch([[u32(1), u32(1)]]), isErr('EPERM'));
      assert.throws(() => ro.deleteBatch([u32(1)]), isErr('EPERM'));
      assert.throws(() => ro.lookupAndDeleteBatch({ count: 4 }), isErr('EPERM'));
      using wo = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, flags: ['wronly'] });
      assert.equal(wo.updateBatch([[u32(1), u32(1)]]), 1);
      assert.throws(() => wo.lookupBatch({ count: 4 }), (e: unknown) => isErr('EPERM')(e) && /write-only/.test((e as Error).message));
      assert.throws(() => [...wo.entries()], isErr('EPERM'), 'no silent fallback on EPERM');
      using fz = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      fz.updateBatch([[u32(1), u32(1)]]);
      fz.freeze();
      assert.throws(() => fz.updateBatch([[u32(2), u32(2)]]), isErr('EPERM'));
      assert.throws(() => fz.deleteBatch([u32(1)]), isErr('EPERM'));
      assert.equal(fz.lookupBatch({ count: 4 }).count, 1);
    });

    test('batch calls on a closed map, and bad inputs, fail before any syscall', (t) => {
      if (!K.available(t)) return;
      const m = BpfMap.create({ kernel: K.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      assert.throws(() => m.updateBatch([[u32(1), Buffer.alloc(7)]]), /expected 8 bytes/);
      assert.throws(() => m.updateBatch({ keys: [u32(1)], values: [] }), /1 keys but 0 values/);
      assert.throws(() => m.updateBatch({ keys: Buffer.alloc(5), values: Buffer.alloc(8) }), /multiple of 4/);
      assert.throws(() => m.updateBatch(42 as unknown as []), TypeError);
      assert.throws(() => m.updateBatch([[u32(1)]] as unknown as []), /pair/);
      assert.throws(() => m.deleteBatch({ keys: Buffer.alloc(3) }), /multiple of 4/);
      assert.throws(() => m.updateBatch([], { chunkSize: 0 }), RangeError);
      assert.equal(m.dump().count, 0);
      m.close();
      assert.throws(() => m.lookupBatch(), /closed/);
      assert.throws(() => m.updateBatch([]), /closed/);
      assert.throws(() => m.deleteBatch([]), /closed/);
      assert.throws(() => m.entries(), /closed/);
      assert.throws(() => m.drain(), /closed/);
      assert.throws(() => m.dump(), /closed/);
    });
  });
}
