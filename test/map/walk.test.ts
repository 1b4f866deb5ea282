import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CodecError } from '../../src/codec/codec.js';
import { u32 as u32c, u64 as u64c, u64n } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { FdEntry } from '../../src/emu/fd-table.js';
import { BpfMap } from '../../src/map/map.js';
import { emuStoreDir, LINUX, testKernels, u32, u64 } from '../helpers/kernel.js';
import { closeFixture, entryText, fixture, ITERABLE_TYPES } from '../helpers/maps.js';

for (const K of testKernels()) {
  describe(`iteration on ${K.name}`, () => {
    test('entries, keys and values agree, in batch and per-element mode, for every iterable type', (t) => {
      if (!K.available(t)) return;
      for (const type of ITERABLE_TYPES) {
        const f = fixture(K.kernel(), type);
        try {
          for (const mode of ['batch', 'per-element'] as const) {
            const it = f.map.entries({ mode, batchSize: 3 });
            assert.equal(it.mode, mode);
            const texts = [...it].map(([k, v]) => entryText(k, v));
            assert.equal(texts.length, f.expected.size, `${type} ${mode}: once each`);
            assert.deepEqual(new Set(texts), f.expected, `${type} ${mode}`);
            assert.equal([...f.map.keys({ mode })].length, f.expected.size);
            assert.equal([...f.map.values({ mode })].length, f.expected.size);
          }
          assert.equal(f.map.entries().mode, 'batch', `${type}: auto picks batch on this kernel`);
          assert.equal([...f.map].length, f.expected.size, 'the map itself is iterable');
        } finally {
          closeFixture(f);
        }
      }
    });

    test('async iteration yields to the event loop between batches', async (t) => {
      if (!K.available(t)) return;
      const f = fixture(K.kernel(), 'hash', 200);
      try {
        let ticks = 0;
        const timer = setInterval(() => ticks++, 0);
        const texts: string[] = [];
        const it = f.map.entriesAsync({ batchSize: 10 });
        assert.equal(it.mode, 'batch');
        for await (const [k, v] of it) texts.push(entryText(k, v));
        clearInterval(timer);
        assert.deepEqual(new Set(texts), f.expected);
        assert.equal(texts.length, 200);
        assert.ok(ticks > 0, 'timers ran while the map was read');
        let n = 0;
        for await (const _ of f.map.keysAsync({ mode: 'per-element', batchSize: 7 })) n++;
        assert.equal(n, 200);
        const values = [];
        for await (const v of f.map.valuesAsync()) values.push(v);
        assert.equal(values.length, 200);
      } finally {
        closeFixture(f);
      }
    });

    test('abandoning an iterator mid-way is safe, and a new walk starts over', (t) => {
      if (!K.available(t)) return;
      const f = fixture(K.kernel(), 'hash', 50);
      try {
        for (const [i] of [...Array(3).keys()].entries()) {
          let n = 0;
          for (const _ of f.map.entries({ batchSize: 4 })) if (++n > 5 + i) break;
        }
        assert.equal([...f.map.entries()].length, 50);
      } finally {
        closeFixture(f);
      }
    });

    test('the per-element walk repeats keys when the key it stands on is deleted; the batch walk does not', (t) => {
      if (!K.available(t)) return;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64, flags: ['zero_seed'] });
      const fill = () => {
        for (let i = 0; i < 32; i++) m.set(u32(i), u64(i));
      };
      // Right after the walk returned its tenth key, delete the key after it, which the walk has
      // already asked GET_NEXT_KEY for and stands on: its next GET_NEXT_KEY finds that key gone and
      // restarts from the first bucket, returning the first ten again.
      const walkDeleting = (mode: 'batch' | 'per-element') => {
        fill();
        const seen: number[] = [];
        for (const [k] of m.entries({ mode, batchSize: 1 })) {
          seen.push(k.readUInt32LE(0));
          if (seen.length > 1000) break;
          if (seen.length === 10) m.delete(m.nextKey(k) as Buffer);
        }
        m.deleteBatch([...m.keys()]);
        return seen;
      };
      const perElement = walkDeleting('per-element');
      const dupes = perElement.length - new Set(perElement).size;
      t.diagnostic(`per-element walk under deletes: ${perElement.length} keys returned, ${dupes} repeats`);
      assert.ok(dupes > 0, 'the classic walk returned some key twice');
      const batch = walkDeleting('batch');
      assert.equal(batch.length, new Set(batch).size, 'the batch walk never repeats a key');
    });

    test('the per-element walk returns every entry not deleted during it, and none after its deletion', (t) => {
      if (!K.available(t)) return;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32c, value: u64c, maxEntries: 256 });
      for (let i = 0; i < 200; i++) m.set(i, BigInt(i) * 7n);
      const deleted = new Set<number>();
      const seen = new Set<number>();
      let n = 0;
      // Chunks of 8: after the last entry of a chunk the walk holds the next key, already asked
      // for. Deleting it makes the next run's first lookup miss (the walk goes on from the gone
      // key: GET_NEXT_KEY restarts from the first bucket); deleting keys not yet read drops them.
      for (const [k, v] of m.entries({ mode: 'per-element', batchSize: 8 })) {
        assert.ok(!deleted.has(k), `key ${k} returned after it was deleted`);
        assert.equal(v, BigInt(k) * 7n);
        seen.add(k);
        if (++n > 2000) assert.fail('the walk does not end');
        if (n % 8 !== 0 || n > 64) continue;
        const held = m.nextKey(k);
        for (const d of [held, ...[...m.keys({ mode: 'batch' })].filter((x) => !seen.has(x)).slice(0, 3)]) {
          if (d === undefined || deleted.has(d)) continue;
          m.delete(d);
          deleted.add(d);
        }
      }
      assert.ok(deleted.size > 8, `${deleted.size} keys deleted during the walk`);
      for (let i = 0; i < 200; i++) if (!deleted.has(i)) assert.ok(seen.has(i), `key ${i}, never deleted, was returned`);
      t.diagnostic(`${n} entries returned for ${200 - deleted.size} left, ${deleted.size} deleted during the walk`);
    });
  });
}

describe('iteration under a concurrent writer (real kernel)', () => {
  test('batch walks (one thread and parallel) return each untouched key exactly once and never a key twice', async (t) => {
    if (!LINUX.available(t)) return;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4096 });
    const stable = Array.from({ length: 2000 }, (_, i) => i);
    const churn = Array.from({ length: 500 }, (_, i) => 100_000 + i);
    m.updateBatch(stable.map((i) => [u32(i), u64(i)] as const));
    m.updateBatch(churn.map((i) => [u32(i), u64(i)] as const));
    const stop = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('../helpers/churn-worker.js', import.meta.url), { workerData: { id: m.id, keys: churn, stop } });
    const done = new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    let rounds = 0;
    let perElementRepeats = 0;
    // npm run soak: a minute of rounds instead of a second and a half.
    const deadline = Date.now() + (process.env.BPFMAP_SOAK ? 60_000 : 1500);
    while (Date.now() < deadline || rounds < 20) {
      const keys = [...m.keys({ batchSize: 64 })].map((k) => k.readUInt32LE(0));
      assert.equal(keys.length, new Set(keys).size, `round ${rounds}: no key twice`);
      const set = new Set(keys);
      for (const s of stable) assert.ok(set.has(s), `round ${rounds}: stable key ${s} present`);
      // Parallel dumps: ranges walked at once by worker threads while the writer runs, with
      // batches small enough that range ends fall inside calls.
      const threads = 2 + (rounds % 3);
      const d = m.dump({ threads, batchSize: 16 + (rounds % 5) * 40 });
      assert.equal(d.ranges, 4 * threads, `round ${rounds}: 4 ranges for each of ${threads} threads`);
      const par = Array.from({ length: d.count }, (_, i) => d.keys.readUInt32LE(i * 4));
      assert.equal(par.length, new Set(par).size, `round ${rounds}: no key twice in a ${threads}-thread dump`);
      const parSet = new Set(par);
      for (const s of stable) assert.ok(parSet.has(s), `round ${rounds}: stable key ${s} in the ${threads}-thread dump`);
      const classic = [...m.keys({ mode: 'per-element' })].map((k) => k.readUInt32LE(0));
      perElementRepeats += classic.length - new Set(classic).size;
      rounds++;
      await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    const ops = await done;
    t.diagnostic(
      `${rounds} rounds against ${ops} concurrent deletes/inserts; the per-element walk repeated ${perElementRepeats} keys meanwhile`,
    );
    assert.ok(ops > 0, 'the writer ran');
  });
});

describe('async iteration', () => {
  test('next() called many times at once hands out every entry once, in order, then done', async (t) => {
    if (!LINUX.available(t)) return;
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64 });
    for (let i = 0; i < 40; i++) m.set(u32(i), u64(i));
    const sequential: string[] = [];
    for await (const k of m.keysAsync({ batchSize: 8 })) sequential.push(k.toString('hex'));
    const it = m.keysAsync({ batchSize: 8 });
    const all = await Promise.all(Array.from({ length: 45 }, () => it.next()));
    assert.deepEqual(
      all.slice(0, 40).map((r) => (r.value as Buffer).toString('hex')),
      sequential,
    );
    assert.ok(all.slice(40).every((r) => r.done === true));
    assert.equal((await it.next()).done, true);
  });

  test('a failing walk rejects, and breaking out ends the walk', async (t) => {
    if (!LINUX.available(t)) return;
    const m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64 });
    for (let i = 0; i < 40; i++) m.set(u32(i), u64(i));
    let n = 0;
    for await (const _ of m.entriesAsync({ batchSize: 4 })) if (++n === 6) break;
    assert.equal(n, 6);
    const it = m.entriesAsync({ batchSize: 4 });
    for (let i = 0; i < 4; i++) assert.equal((await it.next()).done, false);
    m.close();
    // Entries of the batch already read still come; the next syscall finds the map closed.
    let error: unknown;
    for (let i = 0; i < 40 && error === undefined; i++) {
      try {
        assert.equal((await it.next()).done, false, 'the walk cannot end normally on a closed map');
      } catch (e) {
        error = e;
      }
    }
    assert.equal((error as Error).name, 'MapClosedError');
  });
});

for (const K of testKernels()) {
  describe(`collecting entries on ${K.name}`, () => {
    test('toArray(), toMap() and forEach() give what spreading the iterator gives, from where it stands', (t) => {
      if (!K.available(t)) return;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32c, value: u64c, maxEntries: 100 });
      for (let i = 0; i < 100; i++) map.set(i, BigInt(i) * 3n);
      const spread = [...map.entries({ batchSize: 7 })];
      assert.equal(spread.length, 100);
      assert.deepEqual(map.entries({ batchSize: 7 }).toArray(), spread);
      assert.deepEqual(map.entries({ batchSize: 7, mode: 'per-element' }).toArray().length, 100);
      assert.deepEqual(map.entries().toMap(), new Map(spread));
      const it = map.entries({ batchSize: 7 });
      const firsts = [it.next().value, it.next().value, it.next().value];
      assert.deepEqual([...firsts, ...it.toArray()], spread, 'toArray() takes the rest');
      assert.deepEqual(it.toArray(), [], 'and leaves nothing');
      const seen: number[] = [];
      const again = map.keys({ batchSize: 7 });
      assert.throws(
        () =>
          again.forEach((k) => {
            if (seen.push(k) === 10) throw new Error('stop');
          }),
        /stop/,
      );
      assert.equal(again.toArray().length, 90, 'an f that throws leaves the iterator after that item');
    });

    test('toArray() joins the chunks in walk order, past one concat group (4096 chunks) and from a part-read chunk', (t) => {
      if (!K.available(t)) return;
      const n = 5000;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32c, value: u64c, maxEntries: n });
      map.updateBatch({ keys: Array.from({ length: n }, (_, i) => i), values: Array.from({ length: n }, (_, i) => BigInt(i) * 7n) });
      const expected = Array.from({ length: n }, (_, i): [number, bigint] => [i, BigInt(i) * 7n]);
      assert.deepEqual(map.entries({ batchSize: 1 }).toArray(), expected, 'one chunk per entry: 5000 parts joined in two groups');
      const it = map.entries({ batchSize: 3 });
      it.next();
      assert.deepEqual(it.toArray(), expected.slice(1), 'the rest of the chunk in hand, then the others');
      assert.deepEqual(map.values({ batchSize: 4096 }).toArray(), expected.map((e) => e[1]), 'values(), in two chunks');
    });

    test('toMap() of entries() sets each key and value read apart, from where the iterator stands; other iterators through forEach', (t) => {
      if (!K.available(t)) return;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32c, value: u64c, maxEntries: 50 });
      for (let i = 0; i < 50; i++) map.set(i, BigInt(i) << 40n);
      const it = map.entries({ batchSize: 4 });
      const first = it.next().value as [number, bigint];
      const rest = it.toMap();
      assert.equal(rest.size, 49);
      assert.equal(rest.has(first[0]), false, 'the entry already taken is not in it');
      assert.deepEqual(new Map([first, ...rest]), new Map(Array.from({ length: 50 }, (_, i) => [i, BigInt(i) << 40n])));
      assert.deepEqual(it.toMap(), new Map(), 'and leaves nothing');
      using pc = BpfMap.create({ kernel: K.kernel(), type: 'percpu_hash', key: u32c, value: perCpu(u64c), maxEntries: 4 });
      pc.set(2, Array.from({ length: pc.cpus }, () => 5n));
      assert.deepEqual(pc.entriesSummed().toMap(), new Map([[2, 5n * BigInt(pc.cpus)]]), 'entriesSummed(), through forEach');
    });

    test('u64n values come out as numbers from the batch buffers; one past 2^53 is a CodecError', (t) => {
      if (!K.available(t)) return;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32c, value: u64c, maxEntries: 10 });
      map.set(1, 2n ** 53n - 1n);
      map.set(2, 2n ** 32n + 5n);
      using asNumber = BpfMap.fromId(map.id, { kernel: K.kernel(), key: u32c, value: u64n });
      assert.deepEqual(
        new Map(asNumber.entries().toArray()),
        new Map([
          [1, 2 ** 53 - 1],
          [2, 2 ** 32 + 5],
        ]),
      );
      map.set(3, 2n ** 53n);
      assert.throws(() => asNumber.entries().toArray(), CodecError);
      using pc = BpfMap.create({ kernel: K.kernel(), type: 'percpu_hash', key: u32c, value: perCpu(u64n), maxEntries: 4 });
      pc.set(
        0,
        Array.from({ length: pc.cpus }, (_, c) => 2 ** 40 + c),
      );
      const expected = Array.from({ length: pc.cpus }, (_, c) => 2 ** 40 + c).reduce((a, b) => a + b, 0);
      assert.deepEqual(pc.entriesSummed().toArray(), [[0, expected]]);
    });
  });
}

describe('per-element walk of an emulated pinned map', () => {
  test("each run of the walk's sequence sees what another process wrote to the pinned map before it", () => {
    const dir = emuStoreDir();
    const path = `/sys/fs/bpf/walk_pinned_${process.pid}`;
    using a = BpfMap.create({ kernel: new EmulatedKernel({ dir }), type: 'hash', key: u32c, value: u64c, maxEntries: 64 });
    for (let i = 0; i < 40; i++) a.set(i, 1n);
    a.pin(path);
    using b = BpfMap.openPinned(path, { kernel: new EmulatedKernel({ dir }), key: u32c, value: u64c });
    const it = b.entries({ mode: 'per-element', batchSize: 8 });
    const seen = new Map<number, bigint>();
    for (let i = 0; i < 8; i++) {
      const r = it.next();
      assert.equal(r.done, false);
      const [k, v] = r.value as [number, bigint];
      seen.set(k, v);
    }
    // Another process (another kernel on the same store) writes every key; the runs after this one see it.
    for (let i = 0; i < 40; i++) a.set(i, 2n);
    for (const [k, v] of it) seen.set(k, v);
    assert.equal(seen.size, 40);
    assert.equal([...seen.values()].filter((v) => v === 2n).length >= 24, true, 'entries read after the write have the new value');
    a.unpin(path);
  });
});

describe('per-element walk on the emulated kernel, keys deleted inside a run', () => {
  test('a key gone between its GET_NEXT_KEY and its lookup is skipped, and the walk goes on from it', () => {
    // Deletes some keys right after GET_NEXT_KEY returned them, before the lookup that follows in
    // the same run of the walk's sequence: the run stops mid-way at that lookup.
    const victims = new Set([5, 17, 18, 40, 99]);
    class Deleting extends EmulatedKernel {
      protected override nextKeyOn(fd: number, e: FdEntry, key: Uint8Array | null, next: Uint8Array): boolean {
        const more = super.nextKeyOn(fd, e, key, next);
        const k = Buffer.from(next).readUInt32LE(0);
        if (more && victims.has(k)) super.delete(fd, next);
        return more;
      }
    }
    using m = BpfMap.create({ kernel: new Deleting({ dir: emuStoreDir() }), type: 'hash', key: u32c, value: u64c, maxEntries: 128 });
    for (let i = 0; i < 100; i++) m.set(i, BigInt(i) + 1000n);
    const got = m.entries({ mode: 'per-element', batchSize: 16 }).toArray();
    for (const [k, v] of got) assert.equal(v, BigInt(k) + 1000n);
    const keys = new Set(got.map(([k]) => k));
    assert.deepEqual(
      [...keys].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i).filter((i) => !victims.has(i)),
    );
    assert.ok(got.length > keys.size, 'a gone key restarted the walk, as GET_NEXT_KEY from a missing key does');
  });
});
