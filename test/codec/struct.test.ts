import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { array } from '../../src/codec/array.js';
import { bytes } from '../../src/codec/bytes.js';
import { type Codec, CodecError } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';
import { f32, f64 } from '../../src/codec/float.js';
import { be16, i16, i32, i8, u16, u32, u64, u8 } from '../../src/codec/int.js';
import { ipv4, ipv6 } from '../../src/codec/ip.js';
import { struct } from '../../src/codec/struct.js';
import { union } from '../../src/codec/union.js';
import { cLayouts } from '../helpers/layout.js';

const s1 = struct({ a: u32, b: u64, name: cstring(16) }, { name: 's1' });
const s2 = struct({ a: u8, b: u16, c: u8, d: u32, e: u8 }, { name: 's2' });
const s3 = struct({ a: u8, b: u64, c: u16 }, { name: 's3', packed: true });
const s4 = struct({ sport: be16, dport: be16, saddr: ipv6, proto: u8 }, { name: 's4' });
const s5 = struct({ tag: u8, inner: s2, counts: array(u64, 3), tail: u8 }, { name: 's5' });
const s6 = struct({ x: u8, items: array(s1, 2) }, { name: 's6' });
const u1 = union({ a: u8, b: u64, c: cstring(12) }, { name: 'u1' });
const s7 = struct({ kind: u8, u: u1, after: u16 }, { name: 's7' });
const s8 = struct({ f: f32, d: f64, i: i8, addr: ipv4, w: i16 }, { name: 's8' });
const s9 = struct({ c: cstring(3), x: u16, raw: bytes(5), y: i32 }, { name: 's9' });
const s10 = struct({ a: u8, inner: s3, b: u32 }, { name: 's10' });

const C = `
struct s1 { uint32_t a; uint64_t b; char name[16]; };
struct s2 { uint8_t a; uint16_t b; uint8_t c; uint32_t d; uint8_t e; };
struct __attribute__((packed)) s3 { uint8_t a; uint64_t b; uint16_t c; };
struct s4 { uint16_t sport; uint16_t dport; struct in6_addr saddr; uint8_t proto; };
struct s5 { uint8_t tag; struct s2 inner; uint64_t counts[3]; uint8_t tail; };
struct s6 { uint8_t x; struct s1 items[2]; };
union u1 { uint8_t a; uint64_t b; char c[12]; };
struct s7 { uint8_t kind; union u1 u; uint16_t after; };
struct s8 { float f; double d; int8_t i; uint32_t addr; int16_t w; };
struct s9 { char c[3]; uint16_t x; unsigned char raw[5]; int32_t y; };
struct s10 { uint8_t a; struct s3 inner; uint32_t b; };
`;

describe('struct layout', () => {
  test('offsets, size and alignment match the C compiler', () => {
    const structs = { s1, s2, s3, s4, s5, s6, s7, s8, s9, s10 };
    const types = Object.fromEntries(Object.entries(structs).map(([tag, s]) => [`struct ${tag}`, Object.keys(s.offsets)]));
    const ref = cLayouts(C, { ...types, 'union u1': ['a', 'b', 'c'] });
    for (const [tag, s] of Object.entries(structs)) {
      const c = ref[`struct ${tag}`];
      assert.deepEqual({ size: s.size, align: s.align, offsets: { ...s.offsets } }, c, tag);
    }
    assert.deepEqual({ size: u1.size, align: u1.align }, { size: ref['union u1']?.size, align: ref['union u1']?.align });
  });

  test('fields lists offsets in declaration order; names describe the struct', () => {
    assert.deepEqual(
      s2.fields.map((f) => [f.name, f.offset, f.codec.name]),
      [['a', 0, 'u8'], ['b', 2, 'u16'], ['c', 4, 'u8'], ['d', 8, 'u32'], ['e', 12, 'u8']],
    );
    assert.equal(s2.name, 'struct s2');
    assert.equal(struct({ a: u8, b: u32 }).name, 'struct { u8 a; u32 b }');
  });
});

describe('struct values', () => {
  const v5 = { tag: 7, inner: { a: 1, b: 0xbeef, c: 3, d: 0xdeadbeef, e: 5 }, counts: [1n, 2n ** 64n - 1n, 0n], tail: 9 };

  test('round-trips nested structs and arrays, zeroing every padding byte', () => {
    const buf = Buffer.alloc(s5.size + 8, 0xff);
    s5.encode(v5, buf, 8);
    assert.deepEqual(s5.decode(buf, 8), v5);
    // Every byte that is not part of a field is padding: tag(0) pad(1..3) inner(4..19: a@4 pad@5 b@6..7
    // c@8 pad@9..11 d@12..15 e@16 pad@17..19) pad(20..23) counts(24..47) tail(48) pad(49..55).
    const used = new Set<number>();
    const mark = (at: number, n: number) => { for (let i = 0; i < n; i++) used.add(at + i); };
    mark(0, 1);
    for (const f of s2.fields) mark(4 + f.offset, f.codec.size);
    mark(s5.offsets.counts, 24);
    mark(s5.offsets.tail, 1);
    for (let i = 0; i < s5.size; i++) if (!used.has(i)) assert.equal(buf[8 + i], 0, `padding byte ${i}`);
    assert.deepEqual(buf.subarray(0, 8), Buffer.alloc(8, 0xff), 'bytes before the offset untouched');
    assert.equal(used.size, 1 + 1 + 2 + 1 + 4 + 1 + 24 + 1);
  });

  test('decode ignores whatever is in the padding', () => {
    const buf = Buffer.alloc(s2.size);
    s2.encode({ a: 1, b: 2, c: 3, d: 4, e: 5 }, buf, 0);
    for (const i of [1, 5, 6, 7, 13, 14, 15]) buf[i] = 0xaa;
    assert.deepEqual(s2.decode(buf, 0), { a: 1, b: 2, c: 3, d: 4, e: 5 });
  });

  test('packed structs have no padding', () => {
    const buf = Buffer.alloc(s3.size);
    s3.encode({ a: 1, b: 0x0102030405060708n, c: 0x0a0b }, buf, 0);
    assert.equal(buf.toString('hex'), '01' + '0807060504030201' + '0b0a');
    assert.equal(s3.align, 1);
  });

  test('an encode error names the field path', () => {
    const flow = struct({ saddr: ipv4, sport: be16, tags: array(struct({ id: u16 }), 2) }, { name: 'flow' });
    const good = { saddr: '10.0.0.1', sport: 80, tags: [{ id: 1 }, { id: 2 }] };
    const buf = Buffer.alloc(flow.size);
    assert.throws(() => flow.encode({ ...good, sport: 'x' as unknown as number }, buf, 0), { message: 'flow.sport: expected an integer 0..65535, got "x"' });
    assert.throws(() => flow.encode({ ...good, tags: [{ id: 1 }, { id: -1 }] }, buf, 0), { message: 'flow.tags[1].id: expected an integer 0..65535, got -1' });
    assert.throws(() => flow.encode({ ...good, tags: [{ id: 1 }] }, buf, 0), { message: 'flow.tags: expected an array of 2 values, got an array of 1' });
    assert.throws(() => flow.encode(null as unknown as typeof good, buf, 0), { message: 'struct flow: expected an object with fields saddr, sport, tags, got null' });
    const anon = struct({ inner: struct({ x: u8 }) });
    assert.throws(() => anon.encode({ inner: { x: 300 } }, Buffer.alloc(1), 0), { message: 'inner.x: expected an integer 0..255, got 300' });
    assert.throws(() => flow.encode(good, Buffer.alloc(flow.size), 1), RangeError);
  });

  test('JSON: objects of field JSON, read back exactly, with path-naming errors', () => {
    const json = JSON.parse(JSON.stringify(s5.toJSON?.(v5)));
    assert.deepEqual(json, { tag: 7, inner: { a: 1, b: 0xbeef, c: 3, d: 0xdeadbeef, e: 5 }, counts: [1, '18446744073709551615', 0], tail: 9 });
    assert.deepEqual(s5.fromJSON?.(json), v5);
    const flow = struct({ sport: be16, addr: ipv6 }, { name: 'flow' });
    assert.throws(() => flow.fromJSON?.({ sport: 'x', addr: '::1' }), { name: 'TypeError', code: 'ERR_BPFMAP_CODEC', message: 'flow.sport: expected an integer 0..65535, got "x"' });
    assert.throws(() => flow.fromJSON?.({ sport: 1 }), { message: 'flow.addr: missing field' });
    assert.throws(() => flow.fromJSON?.({ sport: 1, addr: '::1', extra: 1 }), { message: 'struct flow: unknown field "extra" (fields: sport, addr)' });
    assert.throws(() => flow.fromJSON?.([1, '::1']), CodecError);
    assert.throws(() => s5.fromJSON?.({ ...json, counts: [1, 2, 'x'] }), { message: 's5.counts[2]: expected an integer 0..18446744073709551615 (a safe integer number or a decimal string), got "x"' });
  });

  test('a field codec without JSON support travels as hex of its bytes', () => {
    const plain: Codec<number> = { size: 2, name: 'plain', align: 2, encode: (v, b, o) => b.writeUInt16BE(v, o), decode: (b, o) => b.readUInt16BE(o) };
    const s = struct({ p: plain, q: u8 });
    assert.deepEqual(s.toJSON?.({ p: 0x1234, q: 1 }), { p: '1234', q: 1 });
    assert.deepEqual(s.fromJSON?.({ p: 'abcd', q: 1 }), { p: 0xabcd, q: 1 });
    assert.throws(() => s.fromJSON?.({ p: 'abc', q: 1 }), { message: 'p: expected a hex string of 2 bytes (4 hex digits), got "abc"' });
  });

  test('add sums field-wise when every field can, and is absent otherwise', () => {
    const counters = struct({ packets: u64, bytes: u64, hist: array(u32, 2) });
    assert.deepEqual(counters.add?.({ packets: 1n, bytes: 100n, hist: [1, 2] }, { packets: 2n, bytes: 50n, hist: [3, 4] }), { packets: 3n, bytes: 150n, hist: [4, 6] });
    assert.equal(s1.add, undefined);
  });

  test('refuses bad definitions', () => {
    assert.throws(() => struct({}), /needs at least one field/);
    assert.throws(() => struct({ '1a': u8 }), /not a C identifier/);
    assert.throws(() => struct({ a: 5 as unknown as Codec<number> }), /field a is not a codec/);
    assert.throws(() => struct({ a: { ...u32, align: 3 } }), /alignment 3, not a power of two/);
  });
});
