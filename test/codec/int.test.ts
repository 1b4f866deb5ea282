import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Codec, CodecError } from '../../src/codec/codec.js';
import { be16, be32, i16, i32, i64, i64n, i8, u16, u32, u64, u64n, u8 } from '../../src/codec/int.js';

// Reference bytes come from DataView, which is independent of the Buffer methods the codecs use.
type NumberCase = { codec: Codec<number>; min: number; max: number; set: (d: DataView, v: number) => void };
const numberCases: NumberCase[] = [
  { codec: u8, min: 0, max: 0xff, set: (d, v) => d.setUint8(0, v) },
  { codec: i8, min: -0x80, max: 0x7f, set: (d, v) => d.setInt8(0, v) },
  { codec: u16, min: 0, max: 0xffff, set: (d, v) => d.setUint16(0, v, true) },
  { codec: i16, min: -0x8000, max: 0x7fff, set: (d, v) => d.setInt16(0, v, true) },
  { codec: u32, min: 0, max: 0xffffffff, set: (d, v) => d.setUint32(0, v, true) },
  { codec: i32, min: -0x80000000, max: 0x7fffffff, set: (d, v) => d.setInt32(0, v, true) },
  { codec: be16, min: 0, max: 0xffff, set: (d, v) => d.setUint16(0, v, false) },
  { codec: be32, min: 0, max: 0xffffffff, set: (d, v) => d.setUint32(0, v, false) },
];
type BigCase = { codec: Codec<bigint>; min: bigint; max: bigint; set: (d: DataView, v: bigint) => void };
const bigCases: BigCase[] = [
  { codec: u64, min: 0n, max: 2n ** 64n - 1n, set: (d, v) => d.setBigUint64(0, v, true) },
  { codec: i64, min: -(2n ** 63n), max: 2n ** 63n - 1n, set: (d, v) => d.setBigInt64(0, v, true) },
];

function reference(size: number, write: (d: DataView) => void): Buffer {
  const b = Buffer.alloc(size);
  write(new DataView(b.buffer, b.byteOffset, size));
  return b;
}

describe('number integers', () => {
  for (const { codec, min, max, set } of numberCases) {
    test(`${codec.name}: boundaries round-trip at an offset with the C byte layout`, () => {
      assert.equal(codec.align, codec.size);
      for (const v of [min, min + 1, 0, 1, max - 1, max]) {
        const buf = Buffer.alloc(codec.size + 3, 0xee);
        codec.encode(v, buf, 3);
        assert.deepEqual(
          buf.subarray(3),
          reference(codec.size, (d) => set(d, v)),
          `${codec.name} ${v}`,
        );
        assert.deepEqual(buf.subarray(0, 3), Buffer.alloc(3, 0xee), 'bytes before the offset untouched');
        assert.equal(codec.decode(buf, 3), v);
        assert.equal(codec.fromJSON?.(JSON.parse(JSON.stringify(codec.toJSON?.(v)))), v);
      }
    });

    test(`${codec.name}: refuses out-of-range and non-integer values before writing`, () => {
      const bad: unknown[] = [min - 1, max + 1, 1.5, NaN, Infinity, '1', 1n, null, undefined, {}];
      for (const v of bad) {
        const buf = Buffer.alloc(codec.size, 0xee);
        assert.throws(
          () => codec.encode(v as number, buf, 0),
          (e: unknown) =>
            e instanceof CodecError &&
            e instanceof TypeError &&
            e.message.startsWith(`${codec.name}: expected an integer ${min}..${max}, got`),
        );
        assert.deepEqual(buf, Buffer.alloc(codec.size, 0xee), `nothing written for ${String(v)}`);
        assert.throws(() => codec.fromJSON?.(v), CodecError);
      }
      assert.throws(() => codec.decode(Buffer.alloc(codec.size), 1), RangeError);
    });
  }

  test('messages quote what was given', () => {
    assert.throws(() => u16.encode('x' as unknown as number, Buffer.alloc(2), 0), {
      message: 'u16: expected an integer 0..65535, got "x"',
    });
    assert.throws(() => u8.encode(256, Buffer.alloc(1), 0), { message: 'u8: expected an integer 0..255, got 256' });
  });

  test('be16 is network order: port 80 is 00 50', () => {
    const b = Buffer.alloc(2);
    be16.encode(80, b, 0);
    assert.deepEqual([...b], [0x00, 0x50]);
    u16.encode(80, b, 0);
    assert.deepEqual([...b], [0x50, 0x00]);
  });

  test('add sums exactly, beyond the type', () => {
    assert.equal(u32.add?.(0xffffffff, 1), 0x100000000);
    assert.equal(i8.add?.(-100, -100), -200);
  });
});

describe('bigint integers', () => {
  for (const { codec, min, max, set } of bigCases) {
    test(`${codec.name}: boundaries round-trip with the C byte layout`, () => {
      assert.equal(codec.align, 8);
      const safe = BigInt(Number.MAX_SAFE_INTEGER);
      for (const v of [min, min + 1n, -safe - 1n, -safe, 0n, 1n, safe, safe + 1n, max - 1n, max].filter((x) => x >= min && x <= max)) {
        const buf = Buffer.alloc(10);
        codec.encode(v, buf, 2);
        assert.deepEqual(
          buf.subarray(2),
          reference(8, (d) => set(d, v)),
        );
        assert.equal(codec.decode(buf, 2), v);
        const json = codec.toJSON?.(v);
        // Numbers while exact, decimal strings beyond.
        assert.equal(typeof json, v >= -safe && v <= safe ? 'number' : 'string');
        assert.equal(codec.fromJSON?.(JSON.parse(JSON.stringify(json))), v);
      }
    });

    test(`${codec.name}: refuses numbers, out-of-range bigints and bad JSON`, () => {
      for (const v of [min - 1n, max + 1n, 5, '5', null]) {
        const buf = Buffer.alloc(8, 0xee);
        assert.throws(() => codec.encode(v as bigint, buf, 0), CodecError);
        assert.deepEqual(buf, Buffer.alloc(8, 0xee));
      }
      assert.throws(() => codec.encode(5 as unknown as bigint, Buffer.alloc(8), 0), /write 5n or BigInt\(5\)/);
      for (const j of [2 ** 53, 1.5, '1.5', '0x10', '01', ' 1', '', (max + 1n).toString(), (min - 1n).toString(), true, []])
        assert.throws(() => codec.fromJSON?.(j), CodecError, `fromJSON(${JSON.stringify(j)})`);
      assert.equal(codec.fromJSON?.(7n), 7n);
    });
  }

  test('u64 add stays bigint and exact', () => {
    assert.equal(u64.add?.(2n ** 64n - 1n, 2n ** 64n - 1n), 2n ** 65n - 2n);
  });
});

describe('typedArray views', () => {
  const all: Codec<number | bigint>[] = [u8, i8, u16, i16, u32, i32, u64, i64] as Codec<number | bigint>[];
  for (const codec of all) {
    test(`${codec.name}: a ${codec.typedArray} over encoded values reads the same values`, () => {
      const name = codec.typedArray;
      assert.ok(name !== undefined, 'little-endian host: every host-order integer has a view');
      const Ctor = globalThis[name] as unknown as new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number | bigint>;
      const n = 5;
      const buf = Buffer.alloc(n * codec.size + 8);
      const start = 8; // aligned for every width
      const big = codec.size === 8;
      const values = [0, 1, 2, 100, codec.name.startsWith('i') ? -3 : 3].map((x) => (big ? BigInt(x) : x));
      values.forEach((v, i) => codec.encode(v, buf, start + i * codec.size));
      const view = new Ctor(buf.buffer, buf.byteOffset + start, n);
      assert.deepEqual(Array.from(view), values);
    });
  }

  test('network-order codecs have no host-order view', () => {
    assert.equal(be16.typedArray, undefined);
    assert.equal(be32.typedArray, undefined);
  });
});

test('u64n and i64n: 64-bit integers as numbers, exact or refused, never rounded', () => {
  const b = Buffer.alloc(8);
  for (const v of [0, 1, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    u64n.encode(v, b, 0);
    assert.equal(b.readBigUInt64LE(0), BigInt(v));
    assert.equal(u64n.decode(b, 0), v);
  }
  for (const v of [-1, -(2 ** 32), -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -5]) {
    i64n.encode(v, b, 0);
    assert.equal(b.readBigInt64LE(0), BigInt(v));
    assert.equal(i64n.decode(b, 0), v);
  }
  b.writeBigUInt64LE(2n ** 53n);
  assert.throws(() => u64n.decode(b, 0), CodecError, '2^53 is refused, not rounded');
  b.writeBigUInt64LE(2n ** 64n - 1n);
  assert.throws(() => u64n.decode(b, 0), CodecError);
  b.writeBigInt64LE(-(2n ** 53n));
  assert.throws(() => i64n.decode(b, 0), CodecError);
  b.writeBigInt64LE(2n ** 53n);
  assert.throws(() => i64n.decode(b, 0), CodecError);
  assert.throws(() => u64n.encode(2 ** 53, b, 0), CodecError);
  assert.throws(() => u64n.encode(-1, b, 0), CodecError);
  assert.throws(() => u64n.encode(1.5, b, 0), CodecError);
  assert.equal(u64n.add?.(2 ** 52, 2 ** 52 - 1), 2 ** 53 - 1);
  assert.throws(() => u64n.add?.(2 ** 52, 2 ** 52), RangeError, 'a total past 2^53 is refused');
  assert.equal(u64n.halves, 'unsigned');
  assert.equal(i64n.halves, 'signed');
  assert.equal(u64n.typedArray, undefined);
});
