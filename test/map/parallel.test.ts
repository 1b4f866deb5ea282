import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { u32, u64 } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel, LookupBatchArgs } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import { cursorsBehave } from '../../src/map/parallel.js';
import { htabHash } from '../../src/emu/jhash.js';
import { errno } from '../../src/sys/errno.js';
import { testKernels } from '../helpers/kernel.js';

const TYPES = ['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash', 'array', 'percpu_array'] as const;
type Type = (typeof TYPES)[number];

/** A u32 -> u64 map of type holding n keys (arrays: every index), each key k with value k * 3 + 1 (per CPU: + cpu). */
function filled(kernel: Kernel, type: Type, n: number, maxEntries = n): BpfMap<number, bigint> | BpfMap<number, bigint[]> {
  const isArray = type.endsWith('array');
  const count = isArray ? maxEntries : n;
  if (type.includes('percpu')) {
    const m = BpfMap.create({ kernel, type, key: u32, value: perCpu(u64), maxEntries });
    const keys = Array.from({ length: count }, (_, i) => (isArray ? i : i * 7 + 5));
    m.updateBatch({ keys, values: keys.map((k) => Array.from({ length: m.cpus }, (_, c) => BigInt(k * 3 + 1 + c))) });
    return m;
  }
  const m = BpfMap.create({ kernel, type, key: u32, value: u64, maxEntries });
  const keys = Array.from({ length: count }, (_, i) => (isArray ? i : i * 7 + 5));
  m.updateBatch({ keys, values: keys.map((k) => BigInt(k * 3 + 1)) });
  return m;
}

/** The first CPU's value, or the value. */
const first = (v: bigint | bigint[]): bigint => (Array.isArray(v) ? (v[0] as bigint) : v);

/** Asserts that a dump's entries are keys each once, with their values. */
function checkEntries(entries: Array<[number, bigint | bigint[]]>, keys: Set<number>, what: string): void {
  const seen = new Set<number>();
  for (const [k, v] of entries) {
    assert.ok(!seen.has(k), `${what}: key ${k} twice`);
    seen.add(k);
    assert.equal(first(v), BigInt(k * 3 + 1), `${what}: value of key ${k}`);
  }
  assert.deepEqual(seen, keys, `${what}: every key`);
}

/** The keys a map holds, by a plain one-thread walk. */
function keysOf(m: BpfMap<number, bigint> | BpfMap<number, bigint[]>): Set<number> {
  return new Set((m as BpfMap<number, unknown>).keys());
}

for (const K of testKernels()) {
  describe(`parallel dumps on ${K.name}`, () => {
    test("the kernel's cursors pass the probe (the emulator's behave like the kernel's)", (t) => {
      if (!K.available(t)) return;
      assert.equal(cursorsBehave(K.kernel(), 'bucket'), true);
      assert.equal(cursorsBehave(K.kernel(), 'index'), true);
    });

    test('dump({ threads }) of every splittable type holds each entry once, with its value', (t) => {
      if (!K.available(t)) return;
      for (const type of TYPES) {
        using m = filled(K.kernel(), type, 3000, 4096);
        const keys = keysOf(m);
        assert.ok(keys.size > 1000, `${type}: the map holds entries`);
        for (const threads of [2, 3, 5])
          for (const batchSize of [7, 256]) {
            const what = `${type}, ${threads} threads, batch ${batchSize}`;
            const d = m.dump({ threads, batchSize });
            assert.equal(d.ranges, 4 * threads, `${what}: 4 ranges per thread`);
            assert.equal(d.keys.length, d.count * m.keySize, what);
            assert.equal(d.values.length, d.count * m.valueBytes, what);
            checkEntries(
              Array.from({ length: d.count }, (_, i) => [d.key(i), d.value(i)]),
              keys,
              what,
            );
          }
      }
    });

    test('entries, keys, values and entriesSummed take threads', (t) => {
      if (!K.available(t)) return;
      using m = filled(K.kernel(), 'hash', 500, 1024) as BpfMap<number, bigint>;
      const keys = keysOf(m);
      checkEntries([...m.entries({ threads: 3, batchSize: 16 })], keys, 'entries');
      assert.deepEqual(new Set(m.keys({ threads: 2 })), keys);
      assert.equal([...m.values({ threads: 2 })].length, keys.size);
      using p = filled(K.kernel(), 'percpu_hash', 300, 512) as BpfMap<number, bigint[]>;
      const cpus = p.cpus;
      const summed = [...p.entriesSummed({ threads: 2, batchSize: 8 })];
      assert.equal(summed.length, 300);
      for (const [k, v] of summed) assert.equal(v, BigInt(cpus * (k * 3 + 1) + (cpus * (cpus - 1)) / 2));
    });

    test("a range's last call that reads buckets past its end leaves each entry once", (t) => {
      if (!K.available(t)) return;
      // Few entries in many buckets with a large batch: each range's one call runs to the map's
      // end, over every later range's buckets.
      using m = filled(K.kernel(), 'hash', 12, 4096);
      const keys = keysOf(m);
      for (const threads of [2, 4, 8]) {
        const d = m.dump({ threads, batchSize: 4096 });
        assert.equal(d.ranges, 4 * threads);
        checkEntries(
          Array.from({ length: d.count }, (_, i) => [d.key(i), d.value(i)]),
          keys,
          `${threads} threads`,
        );
      }
    });

    test('a range with more entries than its share spills, and the output is packed around it', (t) => {
      if (!K.available(t)) return;
      // zero_seed makes the kernel's bucket of a key its jhash with seed 0 (root only), so keys
      // can be picked to crowd the first range's buckets past the room its share leaves.
      const maxEntries = 4096;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32, value: u64, maxEntries, flags: ['zero_seed'] });
      const key = Buffer.alloc(4);
      const bucket = (k: number): number => {
        key.writeUInt32LE(k, 0);
        return htabHash(key, 0) & (maxEntries - 1);
      };
      const crowded: number[] = [];
      const spread: number[] = [];
      for (let k = 1; crowded.length < 1500 || spread.length < 900; k++) {
        if (bucket(k) < maxEntries / 8) {
          if (crowded.length < 1500) crowded.push(k);
        } else if (spread.length < 900) spread.push(k);
      }
      const all = [...crowded, ...spread];
      m.updateBatch({ keys: all, values: all.map((k) => BigInt(k * 3 + 1)) });
      const keys = new Set(all);
      // A walk goes up the buckets: the crowded keys come first, or the kernel hashed them elsewhere.
      assert.deepEqual(
        new Set([...m.keys()].slice(0, crowded.length)),
        new Set(crowded),
        'the crowded keys are in the first eighth of the buckets',
      );
      for (const batchSize of [7, 64]) {
        const d = m.dump({ threads: 2, batchSize });
        assert.equal(d.ranges, 8);
        assert.equal(d.keys.length, d.count * 4);
        checkEntries(
          Array.from({ length: d.count }, (_, i) => [d.key(i), d.value(i)]),
          keys,
          `batch ${batchSize}`,
        );
      }
    });

    test('an empty map, and more threads than buckets', (t) => {
      if (!K.available(t)) return;
      using e = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32, value: u64, maxEntries: 100 });
      assert.equal(e.dump({ threads: 4 }).count, 0);
      using s = filled(K.kernel(), 'hash', 3, 4) as BpfMap<number, bigint>;
      const d = s.dump({ threads: 8 });
      assert.equal(d.ranges, 4, 'no more ranges than buckets');
      assert.equal(d.count, 3);
    });

    test('maps that cannot be split, and the per-element mode, are read in one walk', (t) => {
      if (!K.available(t)) return;
      using trie = BpfMap.create({
        kernel: K.kernel(),
        type: 'lpm_trie',
        keySize: 8,
        valueSize: 8,
        maxEntries: 16,
        flags: ['no_prealloc'],
      });
      trie.set(Buffer.from([32, 0, 0, 0, 10, 0, 0, 1]), Buffer.alloc(8, 1));
      const d = trie.dump({ threads: 4 });
      assert.equal(d.ranges, 1);
      assert.equal(d.count, 1);
      using m = filled(K.kernel(), 'hash', 50, 64);
      const p = m.dump({ threads: 4, mode: 'per-element' });
      assert.equal(p.ranges, 1);
      assert.equal(p.count, 50);
    });

    test('bad threads and threads with into are refused before any syscall', (t) => {
      if (!K.available(t)) return;
      using m = filled(K.kernel(), 'hash', 10, 16) as BpfMap<number, bigint>;
      for (const threads of [0, -1, 1.5, 65, Number.NaN]) {
        assert.throws(() => m.dump({ threads }), RangeError, String(threads));
        assert.throws(() => m.entries({ threads }), RangeError, String(threads));
      }
      const last = m.dump();
      assert.throws(() => m.dump({ threads: 2, into: last }), TypeError);
      assert.equal(m.dump({ threads: 1, into: last }).count, 10);
    });

    test("a kernel error in a range is thrown with the map's name", (t) => {
      if (!K.available(t)) return;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32, value: u64, maxEntries: 64, name: 'par_err' });
      m.set(1, 2n);
      // BPF_F_LOCK on a value without a spin lock: EINVAL from every range's first call.
      assert.throws(
        () => m.dump({ threads: 3, lock: true }),
        (e: unknown) => e instanceof BpfError && e.errno === errno.EINVAL && /par_err/.test(e.message),
      );
      // The workers are still usable afterwards.
      assert.equal(m.dump({ threads: 3 }).count, 1);
    });

    test('a kernel whose forged cursors misbehave, or that refuses the probe map, gets one walk', (t) => {
      if (!K.available(t)) return;
      const base = K.kernel();
      // The same kernel (instanceof holds), but every cursor it is handed moves one bucket on.
      const skewed = Object.create(base) as Kernel;
      skewed.lookupBatch = (fd: number, a: LookupBatchArgs) => {
        if (a.inBatch === null) return base.lookupBatch(fd, a);
        const c = Buffer.from(a.inBatch);
        c.writeUInt32LE(c.readUInt32LE(0) + 1, 0);
        return base.lookupBatch(fd, { ...a, inBatch: c });
      };
      assert.equal(cursorsBehave(skewed, 'bucket'), false);
      const refusing = Object.create(base) as Kernel;
      refusing.mapCreate = (attr) => {
        if (attr.name === 'bpfmap_probe') throw new BpfError(0, errno.EPERM);
        return base.mapCreate(attr);
      };
      using m = filled(refusing, 'hash', 200, 256);
      const d = m.dump({ threads: 4 });
      assert.equal(d.ranges, 1, 'one walk');
      checkEntries(
        Array.from({ length: d.count }, (_, i) => [d.key(i), d.value(i)]),
        keysOf(m),
        'refusing kernel',
      );
    });
  });
}
