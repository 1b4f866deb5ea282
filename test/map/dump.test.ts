import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { u32, u64 } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { Growable } from '../../src/map/dump.js';
import { BpfMap } from '../../src/map/map.js';
import { testKernels } from '../helpers/kernel.js';
import { closeFixture, entryText, fixture, ITERABLE_TYPES } from '../helpers/maps.js';

for (const K of testKernels()) {
  describe(`dump on ${K.name}`, () => {
    test('columnar dump holds every entry, packed at the map sizes, in both modes', (t) => {
      if (!K.available(t)) return;
      for (const type of ITERABLE_TYPES) {
        const f = fixture(K.kernel(), type);
        try {
          for (const mode of ['batch', 'per-element'] as const) {
            const d = f.map.dump({ mode, batchSize: 5 });
            assert.equal(d.mode, mode);
            assert.equal(d.count, f.expected.size, `${type} ${mode}`);
            assert.equal(d.keys.length, d.count * f.map.keySize);
            assert.equal(d.values.length, d.count * f.map.valueBytes);
            const texts = Array.from({ length: d.count }, (_, i) => entryText(d.key(i), d.value(i)));
            assert.deepEqual(new Set(texts), f.expected, `${type} ${mode}`);
            assert.throws(() => d.key(d.count), RangeError);
            assert.throws(() => d.value(-1), RangeError);
          }
        } finally {
          closeFixture(f);
        }
      }
    });

    test('a crowded bucket with batchSize 1 still dumps everything', (t) => {
      if (!K.available(t)) return;
      const f = fixture(K.kernel(), 'hash', 40);
      try {
        assert.equal(f.map.dump({ batchSize: 1 }).count, 40);
      } finally {
        closeFixture(f);
      }
    });

    test('a map holding max_entries dumps into buffers of max_entries, never grown for a last batch', (t) => {
      if (!K.available(t)) return;
      // 5000 entries: buffers above Node's pool size, so each has an ArrayBuffer of its own to measure.
      for (const type of ['hash', 'array'] as const) {
        using m = BpfMap.create({ kernel: K.kernel(), type, key: u32, value: u64, maxEntries: 5000 });
        m.updateBatch({ keys: Array.from({ length: 5000 }, (_, i) => i), values: Array.from({ length: 5000 }, (_, i) => BigInt(i) * 3n) });
        for (const batchSize of [64, 1000, 4096, 10000]) {
          const d = m.dump({ batchSize });
          assert.equal(d.count, 5000, `${type} batch ${batchSize}`);
          assert.equal(d.keys.buffer.byteLength, 5000 * 4, `${type} batch ${batchSize}: keys never grown`);
          assert.equal(d.values.buffer.byteLength, 5000 * 8, `${type} batch ${batchSize}: values never grown`);
          const seen = new Set<number>();
          for (let i = 0; i < d.count; i++) {
            assert.equal(d.value(i), BigInt(d.key(i)) * 3n);
            seen.add(d.key(i));
          }
          assert.equal(seen.size, 5000);
        }
      }
    });

    test('a map holding more than its buffers were sized for grows them by what each batch returned', (t) => {
      if (!K.available(t)) return;
      // A kernel that under-reports max_entries: the dump's buffers start too small, as they would
      // if writers outran the map's declared size, and must grow through the scratch batch.
      const real = K.kernel();
      const small = new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'mapInfo') return (fd: number) => ({ ...target.mapInfo(fd), maxEntries: 10 });
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      using m = BpfMap.create({ kernel: small, type: 'hash', key: u32, value: u64, maxEntries: 3000 });
      assert.equal(m.maxEntries, 10);
      m.updateBatch({ keys: Array.from({ length: 2500 }, (_, i) => i), values: Array.from({ length: 2500 }, (_, i) => BigInt(i)) });
      for (const batchSize of [1, 7, 1024, 5000]) {
        const d = m.dump({ batchSize });
        assert.equal(d.count, 2500, `batch ${batchSize}`);
        const seen = new Set<number>();
        for (let i = 0; i < d.count; i++) {
          assert.equal(d.value(i), BigInt(d.key(i)));
          seen.add(d.key(i));
        }
        assert.equal(seen.size, 2500, `batch ${batchSize}: every key once`);
      }
    });
  });
}

describe('dump buffers', () => {
  test('grow by doubling and keep what they hold', () => {
    const g = new Growable(4, 8, 2);
    g.keys.writeUInt32LE(7, 0);
    g.values.writeUInt32LE(9, 0);
    g.n = 1;
    g.reserve(1);
    assert.equal(g.keys.length, 8, 'fits without growing');
    g.reserve(10);
    assert.ok(g.keys.length >= 11 * 4 && g.values.length >= 11 * 8);
    assert.equal(g.keys.readUInt32LE(0), 7);
    assert.equal(g.values.readUInt32LE(0), 9);
  });
});

for (const K of testKernels()) {
  describe(`typed dumps and per-CPU sums on ${K.name}`, () => {
    test('zero-copy views over u32 keys and u64 values; per-CPU u64 values viewed per CPU and summed', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using m = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 100 });
      m.updateBatch(Array.from({ length: 100 }, (_, i) => [i, BigInt(i) * 10n] as const));
      const d = m.dump();
      const keys = d.keyView as Uint32Array;
      const values = d.valueView as BigUint64Array;
      assert.ok(keys instanceof Uint32Array && values instanceof BigUint64Array);
      assert.equal(keys.length, 100);
      for (let i = 0; i < 100; i++) assert.equal(values[i], BigInt(keys[i] as number) * 10n);

      using pc = BpfMap.create({ kernel, type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: 10 });
      const cpus = pc.cpus;
      pc.updateBatch(Array.from({ length: 10 }, (_, i) => [i, Array.from({ length: cpus }, (_, c) => BigInt(i * 100 + c))] as const));
      const pd = pc.dump();
      const pv = pd.valueView as BigUint64Array;
      assert.equal(pv.length, 10 * cpus);
      const pk = pd.keyView as Uint32Array;
      for (let e = 0; e < 10; e++)
        for (let c = 0; c < cpus; c++) assert.equal(pv[e * cpus + c], BigInt((pk[e] as number) * 100 + c));
      const expectSum = (i: number) => BigInt(i * 100 * cpus + (cpus * (cpus - 1)) / 2);
      for (const [k, total] of pc.entriesSummed({ batchSize: 3 })) assert.equal(total, expectSum(k));
      assert.equal([...pc.entriesSummed()].length, 10);
      assert.equal(pc.sumCpus(pc.get(4) as bigint[]), expectSum(4));
      assert.throws(() => m.entriesSummed(), /per-CPU maps/);

      // 12-byte per-CPU values have padding in every slot: no flat view, decode instead.
      using padded = BpfMap.create({ kernel, type: 'percpu_array', keySize: 4, valueSize: 12, maxEntries: 2 });
      assert.equal(padded.dump().valueView, undefined);
      assert.throws(() => padded.sumCpus(padded.get(u32Buf(0)) as Buffer[]), /cannot be added/);
    });
  });
}

function u32Buf(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

for (const K of testKernels()) {
  describe(`dump buffer reuse on ${K.name}`, () => {
    test('dump({ into }) reads into the earlier dump\'s buffers, which then hold the new contents', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using m = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 1000 });
      m.updateBatch(Array.from({ length: 600 }, (_, i) => [i, BigInt(i)] as const));
      const first = m.dump({ batchSize: 64 });
      assert.equal(first.count, 600);
      m.deleteBatch(Array.from({ length: 100 }, (_, i) => i));
      m.updateBatch(Array.from({ length: 300 }, (_, i) => [5000 + i, 7n] as const));
      const second = m.dump({ batchSize: 64, into: first });
      assert.equal(second.count, 800);
      assert.equal(second.keys.buffer, first.keys.buffer, 'the same memory');
      assert.equal(second.values.buffer, first.values.buffer);
      const got = new Map(Array.from({ length: second.count }, (_, i) => [second.key(i), second.value(i)]));
      assert.equal(got.size, 800);
      assert.equal(got.get(5001), 7n);
      assert.equal(got.get(99), undefined);
      assert.equal(got.get(100), 100n);
      const third = m.dump({ into: second, mode: 'per-element' });
      assert.equal(third.count, 800);

      using other = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 10 });
      assert.throws(() => other.dump({ into: first as never }), /earlier dump of this same map/);
      assert.throws(() => m.dump({ into: { count: 0 } as never }), TypeError);
    });
  });
}
