import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignOf, type Codec, CodecError, fromJSONValue, show, toJSONValue } from '../../src/codec/codec.js';
import { be16, u32, u64, u8 } from '../../src/codec/int.js';
import { ipv4 } from '../../src/codec/ip.js';
import { perCpu, sumPerCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';
import { BpfMap } from '../../src/map/map.js';
import { linuxAvailable } from '../helpers/kernel.js';

describe('CodecError', () => {
  test('leads with the codec name, then with the path containers add', () => {
    const e = new CodecError('u16', 'expected an integer 0..65535, got "x"');
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, 'u16: expected an integer 0..65535, got "x"');
    e.within('.sport');
    assert.equal(e.message, 'sport: expected an integer 0..65535, got "x"');
    e.within('[2]').within('.flows', 'flow');
    assert.equal(e.message, 'flow.flows[2].sport: expected an integer 0..65535, got "x"');
    assert.equal(e.detail, 'expected an integer 0..65535, got "x"');
    assert.equal(e.code, 'ERR_BPFMAP_CODEC');
  });

  test('show renders values briefly', () => {
    assert.deepEqual(
      [show('x'), show('y'.repeat(50)), show(5n), show(-0), show(null), show([1, 2]), show(Buffer.alloc(3)), show({}), show(undefined), show(Symbol('s'))],
      ['"x"', `"${'y'.repeat(40)}..."`, '5n', '-0', 'null', 'an array of 2', '3 bytes', 'an object', 'undefined', 'a symbol'],
    );
  });

  test('a codec without align counts as bytes; without JSON it travels as hex', () => {
    const bare: Codec<number> = { size: 2, name: 'bare', encode: (v, b, o) => b.writeUInt16LE(v, o), decode: (b, o) => b.readUInt16LE(o) };
    assert.equal(alignOf(bare), 1);
    assert.equal(alignOf(u64), 8);
    assert.equal(toJSONValue(bare, 0x1234), '3412');
    assert.equal(fromJSONValue(bare, '3412'), 0x1234);
    assert.throws(() => fromJSONValue(bare, 0x1234), { message: 'bare: expected a hex string of 2 bytes (4 hex digits), got 4660' });
    assert.equal(toJSONValue(u8, 7), 7);
  });
});

describe('typed maps (real kernel)', () => {
  const flow = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });
  const k1 = { saddr: '10.0.0.1', daddr: '192.168.1.2', sport: 443, dport: 51000, proto: 6 };
  const k2 = { ...k1, proto: 17 };

  test('a hash map with a struct key and a u64 value speaks those types', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', key: flow, value: u64, maxEntries: 8, name: 'codec_flow' });
    assert.equal(m.keySize, 16, 'keySize inferred from the struct (13 bytes of fields, rounded to 4)');
    assert.equal(m.valueSize, 8);
    m.set(k1, 2n ** 64n - 1n);
    m.set(k2, 5n);
    assert.equal(m.get(k1), 2n ** 64n - 1n);
    assert.equal(m.get(k2), 5n);
    const keys = [];
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) keys.push(k);
    assert.deepEqual(keys.sort((a, b) => a.proto - b.proto), [k1, k2]);

    // The kernel holds C bytes: addresses and ports in network order, padding zero.
    using raw = BpfMap.fromId(m.id);
    const rawKey = Buffer.from('0a000001' + 'c0a80102' + '01bb' + 'c738' + '06' + '000000', 'hex');
    assert.deepEqual(raw.get(rawKey), Buffer.from('ffffffffffffffff', 'hex'));

    // Bad input is refused before any syscall: the map is unchanged.
    assert.throws(() => m.set({ ...k1, sport: 70000 }, 1n), { message: `key.sport of map id ${m.id} "codec_flow": expected an integer 0..65535, got 70000` });
    assert.throws(() => m.set(k1, 1 as unknown as bigint), CodecError);
    assert.equal(m.get(k1), 2n ** 64n - 1n);
    assert.equal(m.delete(k2), true);
    assert.equal(m.get(k2), undefined);

    assert.throws(() => BpfMap.fromId(m.id, { key: u32 }), /key codec u32 is 4 bytes, but the map's keys are 16/);
  });

  test('per-CPU maps speak one T per CPU, and sumPerCpu totals them', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: 4 });
    assert.equal(m.valueSize, 8);
    const values = Array.from({ length: m.cpus }, (_, i) => 2n ** 63n + BigInt(i));
    m.set(7, values);
    const got = m.get(7);
    assert.deepEqual(got, values);
    assert.equal(sumPerCpu(u64, got ?? []), values.reduce((a, b) => a + b));

    // A 12-byte struct: the kernel's 8-byte stride padding never shows in the values.
    const triple = struct({ a: u32, b: u32, c: u32 });
    using s = BpfMap.create({ type: 'percpu_array', key: u32, value: perCpu(triple), maxEntries: 2 });
    assert.equal(s.valueSize, 12);
    const rows = Array.from({ length: s.cpus }, (_, i) => ({ a: i, b: 0xffffffff, c: i * 2 }));
    s.set(1, rows);
    assert.deepEqual(s.get(1), rows);
    assert.deepEqual(s.get(0), rows.map(() => ({ a: 0, b: 0, c: 0 })));
    assert.deepEqual(sumPerCpu(triple, s.get(1) ?? []), { a: rows.reduce((n, r) => n + r.a, 0), b: 0xffffffff * s.cpus, c: rows.reduce((n, r) => n + r.c, 0) });
    assert.throws(() => s.set(1, rows.slice(1)), TypeError);
  });
});
