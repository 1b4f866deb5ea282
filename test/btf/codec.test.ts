import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codecFromBtf, sectionVariables, type BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import { BtfError } from '../../src/btf/error.js';
import { sumPerCpu } from '../../src/codec/percpu.js';

function roundTrip(b: BtfBuilder, id: number, value: BtfValue): { bytes: Buffer; back: BtfValue } {
  const c = codecFromBtf(b.btf(), id);
  const bytes = Buffer.alloc(c.size + 4, 0xee).subarray(2, 2 + c.size);
  c.encode(value, bytes, 0);
  return { bytes: Buffer.from(bytes), back: c.decode(bytes, 0) };
}

test('ints: widths, signedness, bools, 64 bits as bigint; out of range is a TypeError', () => {
  const b = new BtfBuilder();
  const s8 = b.int('signed char', 1, { signed: true });
  const u16 = b.int('unsigned short', 2);
  const s32 = b.int('int', 4, { signed: true });
  const u64 = b.int('unsigned long', 8);
  const s64 = b.int('long', 8, { signed: true });
  const bool = b.int('_Bool', 1, { bool: true });
  assert.deepEqual(roundTrip(b, s8, -128), { bytes: Buffer.from([0x80]), back: -128 });
  assert.deepEqual(roundTrip(b, u16, 0xbeef), { bytes: Buffer.from([0xef, 0xbe]), back: 0xbeef });
  assert.equal(roundTrip(b, s32, -2).bytes.readInt32LE(0), -2);
  assert.equal(roundTrip(b, u64, 2n ** 64n - 1n).back, 2n ** 64n - 1n);
  assert.equal(roundTrip(b, s64, -(2n ** 63n)).back, -(2n ** 63n));
  assert.equal(roundTrip(b, u64, 7).back, 7n, 'numbers are accepted for 64-bit ints');
  assert.equal(roundTrip(b, bool, true).back, true);
  const btf = b.btf();
  const buf = Buffer.alloc(8);
  assert.throws(() => codecFromBtf(btf, s8).encode(128, buf, 0), { name: 'TypeError', message: /-128\.\.127/ });
  assert.throws(() => codecFromBtf(btf, u16).encode(-1, buf, 0), TypeError);
  assert.throws(() => codecFromBtf(btf, u64).encode(2n ** 64n, buf, 0), TypeError);
  assert.throws(() => codecFromBtf(btf, s32).encode(1.5, buf, 0), TypeError);
  assert.throws(() => codecFromBtf(btf, s32).encode('1e3', buf, 0), TypeError);
});

test('enums decode to names (numbers when unnamed) and encode from either; enum64 too', () => {
  const b = new BtfBuilder();
  const e = b.enum('color', { RED: 1, GREEN: 2, NEG: -3 });
  const e64 = b.enum('wide', { BIG: 1n << 40n }, 8);
  assert.equal(roundTrip(b, e, 'GREEN').back, 'GREEN');
  assert.equal(roundTrip(b, e, 'NEG').back, 'NEG');
  assert.equal(roundTrip(b, e, 9).back, 9);
  assert.equal(roundTrip(b, e64, 'BIG').bytes.readBigUInt64LE(0), 1n << 40n);
  assert.equal(roundTrip(b, e64, 5n).back, 5n);
  assert.throws(() => codecFromBtf(b.btf(), e).encode('BLUE', Buffer.alloc(4), 0), { name: 'TypeError', message: /one of RED, GREEN, NEG/ });
});

test('char arrays are strings, other arrays are arrays, floats are numbers, pointers bigints', () => {
  const b = new BtfBuilder();
  const name = b.array(b.int('char', 1, { char: true }), 8);
  const grid = b.array(b.array(b.int('unsigned char', 1), 2), 2);
  const words = b.array(b.int('unsigned int', 4), 3);
  const f32 = b.float('float', 4);
  const f64 = b.float('double', 8);
  const p = b.ptr(0);
  assert.deepEqual(roundTrip(b, name, 'héllo'), { bytes: Buffer.from('héllo\0\0', 'utf8'), back: 'héllo' });
  assert.equal(roundTrip(b, name, '12345678').back, '12345678', 'a full array has no NUL');
  assert.throws(() => codecFromBtf(b.btf(), name).encode('123456789', Buffer.alloc(8), 0), /9 bytes, more than char\[8\]/);
  assert.deepEqual(roundTrip(b, grid, [[1, 2], [3]]).back, [[1, 2], [3, 0]], 'unsigned char arrays are numbers');
  assert.deepEqual(roundTrip(b, words, [1, 2]).back, [1, 2, 0], 'missing elements are zero');
  assert.throws(() => codecFromBtf(b.btf(), words).encode([1, 2, 3, 4], Buffer.alloc(12), 0), /at most 3 elements/);
  assert.equal(roundTrip(b, f32, 0.5).back, 0.5);
  assert.equal(roundTrip(b, f64, Math.PI).back, Math.PI);
  assert.equal(roundTrip(b, p, 0xdeadbeefn).back, 0xdeadbeefn);
});

test('structs and unions: objects, padding and left-out fields zeroed, anonymous members merged', () => {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u32 = b.int('unsigned int', 4);
  const anon = b.struct('', [{ name: 'x', type: u8 }, { name: 'y', type: u8 }]);
  const un = b.union('', [{ name: 'xy', type: anon }, { name: 'raw', type: b.int('unsigned short', 2) }]);
  const s = b.struct('pt', [{ name: 'tag', type: u8 }, { name: 'n', type: u32 }, { name: '', type: un }]);
  const { bytes, back } = roundTrip(b, s, { tag: 1, n: 0x01020304, xy: { x: 5, y: 6 } });
  assert.equal(bytes.toString('hex'), '01000000040302010506' + '0000');
  assert.deepEqual(back, { tag: 1, n: 0x01020304, xy: { x: 5, y: 6 }, raw: 0x0605 });
  assert.deepEqual(roundTrip(b, s, {}).back, { tag: 0, n: 0, xy: { x: 0, y: 0 }, raw: 0 });
  assert.throws(() => codecFromBtf(b.btf(), s).encode({ tag: 1, nope: 2 }, Buffer.alloc(12), 0), /has no field "nope"/);
  assert.throws(() => codecFromBtf(b.btf(), s).encode([1], Buffer.alloc(12), 0), /expected an object/);
});

test('bitfields: kind_flag members, signed and enum bitfields, and old-style int bit widths', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const s32 = b.int('int', 4, { signed: true });
  const e = b.enum('mode', { OFF: 0, ON: 1, AUTO: 2 });
  const s = b.struct('bits', [
    { name: 'a', type: u32, bits: 3, bitOffset: 0 },
    { name: 'b', type: s32, bits: 5, bitOffset: 3 },
    { name: 'm', type: e, bits: 2, bitOffset: 8 },
    { name: 'wide', type: u32, bits: 20, bitOffset: 10 },
  ]);
  const { bytes, back } = roundTrip(b, s, { a: 5, b: -7, m: 'AUTO', wide: 0xabcde });
  const word = bytes.readUInt32LE(0);
  assert.equal(word & 7, 5);
  assert.equal((word >> 3) & 31, (-7 >>> 0) & 31);
  assert.equal((word >> 8) & 3, 2);
  assert.equal((word >>> 10) & 0xfffff, 0xabcde);
  assert.deepEqual(back, { a: 5, b: -7, m: 'AUTO', wide: 0xabcde });
  assert.throws(() => codecFromBtf(b.btf(), s).encode({ a: 8 }, Buffer.alloc(4), 0), /0\.\.7/);
  // Before kind_flag, a bitfield was a member whose int type is narrower than its storage.
  const ob = new BtfBuilder();
  const u3 = ob.add({ kind: 'int', name: 'unsigned int', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 3 });
  const old = ob.add({ kind: 'struct', name: 'old', size: 4, bitfields: false, members: [{ name: 'lo', type: u3, bitOffset: 0, bitSize: 0 }, { name: 'hi', type: u3, bitOffset: 8, bitSize: 0 }] });
  const r = roundTrip(ob, old, { lo: 6, hi: 3 });
  assert.equal(r.bytes.readUInt32LE(0), 6 | (3 << 8));
  assert.deepEqual(r.back, { lo: 6, hi: 3 });
});

test('types without a value layout are BtfErrors', () => {
  const b = new BtfBuilder();
  const fwd = b.add({ kind: 'fwd', name: 'later', union: false });
  const proto = b.add({ kind: 'func_proto', name: '', returnType: 0, params: [] });
  const half = b.float('_Float16', 2);
  for (const id of [0, fwd, proto, half]) assert.throws(() => codecFromBtf(b.btf(), id), BtfError);
});

test('JSON: toJSON and fromJSON round-trip through JSON text, 64-bit values as decimal strings', () => {
  const b = new BtfBuilder();
  const s = b.struct('rec', [
    { name: 'big', type: b.int('unsigned long', 8) },
    { name: 'small', type: b.int('long', 8, { signed: true }) },
    { name: 'name', type: b.array(b.int('char', 1), 4) },
    { name: 'mode', type: b.enum('mode', { A: 1, B: 2 }) },
  ]);
  const c = codecFromBtf(b.btf(), s);
  const buf = Buffer.alloc(c.size);
  const weird = Buffer.from([0xff, 0xfe, 0, 0]); // not UTF-8: decodes to bytes
  c.encode({ big: 2n ** 64n - 1n, small: -5n, name: weird.subarray(0, 2), mode: 'B' }, buf, 0);
  const v = c.decode(buf, 0);
  assert.deepEqual(v, { big: 2n ** 64n - 1n, small: -5n, name: weird.subarray(0, 2), mode: 'B' });
  const json = c.toJSON?.(v);
  assert.deepEqual(json, { big: '18446744073709551615', small: -5, name: [0xff, 0xfe], mode: 'B' });
  assert.deepEqual(c.fromJSON?.(JSON.parse(JSON.stringify(json))), v);
  assert.throws(() => c.fromJSON?.({ big: 'lots' }), { name: 'TypeError', code: 'ERR_BPFMAP_CODEC', message: /^big: expected/ });
});

test('add: ints, bools, enums, floats, and structs and arrays of them, member by member', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long long', 8);
  const s16 = b.int('short', 2, { signed: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const state = b.enum('state', { IDLE: 0, ONE: 1, TWO: 2 });
  const dbl = b.float('double', 8);
  const stats = b.struct('stats', [
    { name: 'packets', type: u64 },
    { name: 'delta', type: s16 },
    { name: 'seen', type: bool },
    { name: 'state', type: state },
    { name: 'avg', type: dbl },
    { name: 'hist', type: b.array(u32, 3) },
    { name: 'flags', type: u32, bits: 3, bitOffset: 8 * 36 },
  ]);
  const btf = b.btf();
  const c = codecFromBtf(btf, stats);
  assert.ok(c.add, 'a struct of numbers has add');
  assert.equal(c.whyNoAdd, undefined);
  const x = { packets: 2n ** 63n, delta: -3, seen: false, state: 'ONE', avg: 0.5, hist: [1, 2, 0xffffffff], flags: 7 };
  const y = { packets: 2n ** 63n, delta: 1, seen: true, state: 'ONE', avg: 0.25, hist: [1, 0, 1], flags: 1 };
  assert.deepEqual(c.add(x, y), {
    packets: 2n ** 64n, // exact, past the type's range (encode refuses it, as documented for add)
    delta: -2,
    seen: true,
    state: 'TWO',
    avg: 0.75,
    hist: [2, 2, 0x100000000],
    flags: 8,
  });
  const e = codecFromBtf(btf, state);
  assert.equal(e.add?.('TWO', 'TWO'), 4, 'an enum total without a name is its number');
  assert.equal(codecFromBtf(btf, u64).add?.(1n, 2), 3n, 'a number for a 64-bit int adds exactly');
});

test('add is absent where a value has no sum, and whyNoAdd names the field', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const comm = b.array(b.int('char', 1, { char: true }), 16);
  const task = b.struct('task', [{ name: 'pid', type: u32 }, { name: 'comm', type: comm }]);
  const holder = b.struct('holder', [{ name: 'tasks', type: b.array(task, 2) }]);
  const withPtr = b.struct('ref', [{ name: 'n', type: u32 }, { name: 'next', type: b.ptr(task) }]);
  const u = b.union('either', [{ name: 'a', type: u32 }, { name: 'b', type: b.float('float', 4) }]);
  const btf = b.btf();
  const c = codecFromBtf(btf, holder);
  assert.equal(c.add, undefined);
  assert.equal(c.whyNoAdd, 'struct holder.tasks[].comm is char[16], a string, which cannot be summed');
  assert.match(codecFromBtf(btf, withPtr).whyNoAdd ?? '', /^struct ref\.next is a pointer \(struct task \*\)/);
  assert.match(codecFromBtf(btf, u).whyNoAdd ?? '', /^union either is a union/);
  assert.throws(() => sumPerCpu(c, [{}, {}]), { name: 'TypeError', message: /sumPerCpu: struct holder values cannot be added \(struct holder\.tasks\[\]\.comm is char\[16\]/ });
});

test('a DATASEC is an object of its variables by name, at their offsets; sectionVariables gives each its codec', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long long', 8);
  const sec = b.datasec('.data', [
    { name: 'last_len', type: u32 },
    { name: 'hits', type: b.qualifier('volatile', u64) },
    { name: 'tag', type: b.array(b.int('char', 1, { char: true }), 3) },
  ]);
  const { bytes, back } = roundTrip(b, sec, { hits: 5n, tag: 'ab' });
  assert.equal(bytes.toString('hex'), '00000000' + '00000000' + '0500000000000000' + '616200', 'hits aligned to 8, last_len zeroed');
  assert.deepEqual(back, { last_len: 0, hits: 5n, tag: 'ab' });
  const vars = sectionVariables(b.btf(), sec);
  assert.deepEqual(vars.map((v) => [v.name, v.offset, v.codec.size]), [['last_len', 0, 4], ['hits', 8, 8], ['tag', 16, 3]]);
  assert.equal(vars[1]?.codec.decode(bytes, 8), 5n);
  assert.throws(() => codecFromBtf(b.btf(), sec).encode({ nope: 1 }, Buffer.alloc(19), 0), /has no field "nope" \(fields: last_len, hits, tag\)/);
  assert.throws(() => sectionVariables(b.btf(), u32), /is not a datasec/);
});

test('__be16/__be32/__be64/__sum16 are network order (through typedef chains and qualifiers); byteOrder host gives the raw number', () => {
  const b = new BtfBuilder();
  const u16 = b.typedef('__u16', b.int('unsigned short', 2));
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const be16 = b.typedef('__be16', u16);
  const be32 = b.typedef('__be32', u32);
  const be64 = b.typedef('__be64', b.int('long long unsigned int', 8));
  const sum16 = b.typedef('__sum16', u16);
  const wsum = b.typedef('__wsum', u32);
  const s = b.struct('flow', [
    { name: 'saddr', type: b.qualifier('const', be32) },
    { name: 'sport', type: be16 },
    { name: 'check', type: sum16 },
    { name: 'seq', type: be64 },
    { name: 'csum', type: wsum },
    { name: 'words', type: b.array(be32, 2) },
    { name: 'plain', type: u16 },
  ]);
  const v = { saddr: 0x0a01360f, sport: 61163, check: 0x1234, seq: 0x0102030405060708n, csum: 0x01020304, words: [1, 2], plain: 0x0102 };
  const { bytes, back } = roundTrip(b, s, v);
  assert.deepEqual(back, v);
  assert.deepEqual([...bytes.subarray(0, 4)], [10, 1, 54, 15], 'the address bytes as the packet has them');
  assert.equal(bytes.readUInt16BE(4), 61163);
  assert.equal(bytes.readUInt16BE(6), 0x1234);
  assert.equal(bytes.readBigUInt64BE(8), 0x0102030405060708n);
  assert.equal(bytes.readUInt32LE(16), 0x01020304, '__wsum stays host order');
  assert.equal(bytes.readUInt32BE(20), 1);
  assert.equal(bytes.readUInt16LE(28), 0x0102, 'a plain __u16 stays host order');
  const host = codecFromBtf(b.btf(), s, { byteOrder: 'host' }).decode(bytes, 0) as Record<string, BtfValue>;
  assert.equal(host.sport, bytes.readUInt16LE(4), 'host order: the number a BPF program reads');
  assert.equal(host.saddr, bytes.readUInt32LE(0));
  // Range checks still apply to the network-order value.
  assert.throws(() => codecFromBtf(b.btf(), be16).encode(65536, Buffer.alloc(2), 0), /0\.\.65535/);
});
