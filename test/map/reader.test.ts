import assert from 'node:assert/strict';
import { test } from 'node:test';
import { be32, BpfMap, f64, perCpu, struct, u16, u32, u64 } from '../../src/index.js';
import type { Codec } from '../../src/codec/codec.js';
import { ChunkReader } from '../../src/map/reader.js';
import { linuxAvailable } from '../helpers/kernel.js';

/** count entries of random bytes packed at offset `shift` of a larger buffer (shift 1 breaks alignment). */
function packedAt(count: number, size: number, shift: number): Buffer {
  const b = Buffer.alloc(count * size + shift + 8);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + 7) & 0xff;
  return b.subarray(shift, shift + count * size);
}

function expectSame<K, V>(map: BpfMap<K, V>, shift: number): void {
  const count = 5;
  const keys = packedAt(count, map.keySize, shift);
  const values = packedAt(count, map.valueBytes, shift);
  const r = new ChunkReader(map);
  r.load({ keys, values, count });
  for (let i = 0; i < count; i++) {
    assert.deepEqual(r.key(i), map.keyCodec.decode(keys, i * map.keySize), `key ${i} shift ${shift}`);
    assert.deepEqual(r.value(i), map.valueCodec.decode(values, i * map.valueBytes), `value ${i} shift ${shift}`);
    if (map.cpuCodec) {
      const cpu = map.cpuCodec as Codec<unknown>;
      for (let c = 0; c < map.cpus; c++)
        assert.deepEqual(r.cpuValue(i, c), cpu.decode(values, i * map.valueBytes + (c * map.valueBytes) / map.cpus), `cpu ${c} of ${i}`);
    }
  }
}

test('ChunkReader: views and codecs decode the same entries, aligned or not', (t) => {
  if (!linuxAvailable(t)) return;
  using plain = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: 8 });
  using floats = BpfMap.create({ type: 'hash', key: be32, value: f64, maxEntries: 8 });
  using structs = BpfMap.create({ type: 'hash', key: u16, value: struct({ a: u32, b: u16 }), maxEntries: 8 });
  using pc64 = BpfMap.create({ type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: 8 });
  // u32 per CPU: 4 bytes of value in each 8-byte slot, read through a view with a stride of 2.
  using pc32 = BpfMap.create({ type: 'percpu_hash', key: u32, value: perCpu(u32), maxEntries: 8 });
  using pcStruct = BpfMap.create({ type: 'percpu_array', key: u32, value: perCpu(struct({ a: u16, b: u16, c: u16 })), maxEntries: 8 });
  for (const shift of [0, 1, 4]) {
    expectSame(plain, shift);
    expectSame(floats, shift);
    expectSame(structs, shift);
    expectSame(pc64, shift);
    expectSame(pc32, shift);
    expectSame(pcStruct, shift);
  }
});

test('ChunkReader: a walk decodes what the map holds, through views', (t) => {
  if (!linuxAvailable(t)) return;
  using m = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: 3000 });
  const want = new Map<number, bigint>();
  for (let i = 0; i < 2500; i++) want.set(i * 7, BigInt(i) * 0x1_0000_0001n);
  m.updateBatch(want);
  for (const batchSize of [1, 64, 4096]) {
    const got = new Map(m.entries({ batchSize }));
    assert.deepEqual(got, want);
    assert.deepEqual(new Set(m.keys({ batchSize })), new Set(want.keys()));
  }
});
