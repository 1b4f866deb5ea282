import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addJson, codecView, hexView } from '../../src/cli/view.js';
import { u32, u64 } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';
import { BpfMap } from '../../src/map/map.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';

const stats = struct({ packets: u64, bytes: u64 }, { name: 'stats' });

describe('entry views', () => {
  test('codec view: JSON through the codecs, exact per-CPU sums, and back', (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_hash', key: u32, value: perCpu(stats), maxEntries: 4 });
    const per = Array.from({ length: map.cpus }, (_, c) => ({ packets: BigInt(c + 1), bytes: 2n ** 60n + BigInt(c) }));
    map.set(7, per);
    const d = map.dump();
    const each = codecView(map, map.keyCodec, map.cpuCodec as typeof stats, 'each');
    const sum = codecView(map, map.keyCodec, map.cpuCodec as typeof stats, 'sum');
    assert.equal(each.valueField, 'values');
    assert.equal(sum.valueField, 'value');
    assert.equal(each.keyText(d.keys, 0), '7');
    assert.deepEqual(JSON.parse(each.valueText(d.values, 0)), per.map((p) => ({ packets: Number(p.packets), bytes: p.bytes.toString() })));
    const total = BigInt(map.cpus) * 2n ** 60n + BigInt((map.cpus * (map.cpus - 1)) / 2);
    assert.deepEqual(sum.value(d.values, 0), { packets: (map.cpus * (map.cpus + 1)) / 2, bytes: total.toString() });
    const key = Buffer.alloc(4);
    const value = Buffer.alloc(map.valueBytes);
    each.parseKey(9, key, 0);
    assert.equal(key.readUInt32LE(0), 9);
    each.parseValue(JSON.parse(each.valueText(d.values, 0)), 'values', value, 0);
    assert.deepEqual(map.valueCodec.decode(value, 0), per);
    each.parseValue({ packets: 5, bytes: '6' }, 'value', value, 0);
    assert.deepEqual(map.valueCodec.decode(value, 0), per.map((_, c) => (c === 0 ? { packets: 5n, bytes: 6n } : { packets: 0n, bytes: 0n })));
    assert.throws(() => each.parseKey('x', key, 0), /key of map id \d+: expected an integer 0\.\.4294967295, got "x"/);
    assert.throws(() => each.parseValue({ packets: 1 }, 'value', value, 0), /bytes/);
  });

  test('hex view: bytes as hex, bpftool-style byte lists read back, sizes checked', (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 2, valueSize: 3, maxEntries: 4 });
    const v = hexView(map, 'each');
    const k = Buffer.alloc(2);
    v.parseKey(['0x0a', '0xff'], k, 0);
    assert.equal(k.toString('hex'), '0aff');
    assert.equal(v.keyText(k, 0), '"0aff"');
    v.parseKey('0x0102', k, 0);
    assert.equal(k.toString('hex'), '0102');
    assert.throws(() => v.parseKey('010203', k, 0), /key of map id \d+: expected 2 bytes, got 3/);
    assert.throws(() => v.parseKey(['0x100', '0x01'], k, 0), /byte 0/);
    assert.throws(() => v.parseValue(['00', '00', '00'], 'values', Buffer.alloc(3), 0), /"values" \(one per CPU\) is for per-CPU maps/);
  });

  test('JSON sums for codecs without add: exact integers, decimal strings past 2^53, other leaves kept', () => {
    assert.deepEqual(addJson({ a: 1, b: [2, 3], ip: '10.0.0.1', big: '9007199254740991' }, { a: 2, b: [5, 7], ip: '10.0.0.2', big: 1 }),
      { a: 3, b: [7, 10], ip: '10.0.0.1', big: '9007199254740992' });
    assert.equal(addJson('18446744073709551615', '1'), '18446744073709551616');
    assert.equal(addJson(1.5, 2.25), 3.75);
    assert.equal(addJson(-3, 1), -2);
  });
});
