import { endianness } from 'node:os';
import { type Codec, CodecError, type TypedArrayName, show } from './codec.js';

// Integers are stored as the kernel stores them: in host order, which is little-endian on every
// host bpfmap runs on (x86_64, arm64). A TypedArray view matches them only on such a host.
const HOST_LE = endianness() === 'LE';
function hostView(name: TypedArrayName): TypedArrayName | undefined {
  return HOST_LE ? name : undefined;
}
function netView(name: TypedArrayName): TypedArrayName | undefined {
  return HOST_LE ? undefined : name;
}

/** v itself when it is an integer in min..max, else a CodecError naming codec. */
function int(codec: string, min: number, max: number, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new CodecError(codec, `expected an integer ${min}..${max}, got ${show(v)}`);
  return v;
}

function addNumber(a: number, b: number): number {
  return a + b;
}
function addBigInt(a: bigint, b: bigint): bigint {
  return a + b;
}
function same(v: number): number {
  return v;
}

/** An unsigned 8-bit integer. */
export const u8: Codec<number> = {
  size: 1,
  name: 'u8',
  align: 1,
  typedArray: 'Uint8Array',
  encode: (v, buf, o) => void buf.writeUInt8(int('u8', 0, 0xff, v), o),
  decode: (buf, o) => buf.readUInt8(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('u8', 0, 0xff, j),
};

/** A signed 8-bit integer. */
export const i8: Codec<number> = {
  size: 1,
  name: 'i8',
  align: 1,
  typedArray: 'Int8Array',
  encode: (v, buf, o) => void buf.writeInt8(int('i8', -0x80, 0x7f, v), o),
  decode: (buf, o) => buf.readInt8(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('i8', -0x80, 0x7f, j),
};

/** An unsigned 16-bit integer, host order. */
export const u16: Codec<number> = {
  size: 2,
  name: 'u16',
  align: 2,
  typedArray: hostView('Uint16Array'),
  encode: (v, buf, o) => void buf.writeUInt16LE(int('u16', 0, 0xffff, v), o),
  decode: (buf, o) => buf.readUInt16LE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('u16', 0, 0xffff, j),
};

/** A signed 16-bit integer, host order. */
export const i16: Codec<number> = {
  size: 2,
  name: 'i16',
  align: 2,
  typedArray: hostView('Int16Array'),
  encode: (v, buf, o) => void buf.writeInt16LE(int('i16', -0x8000, 0x7fff, v), o),
  decode: (buf, o) => buf.readInt16LE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('i16', -0x8000, 0x7fff, j),
};

/** An unsigned 32-bit integer, host order. */
export const u32: Codec<number> = {
  size: 4,
  name: 'u32',
  align: 4,
  typedArray: hostView('Uint32Array'),
  encode: (v, buf, o) => void buf.writeUInt32LE(int('u32', 0, 0xffffffff, v), o),
  decode: (buf, o) => buf.readUInt32LE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('u32', 0, 0xffffffff, j),
};

/** A signed 32-bit integer, host order. */
export const i32: Codec<number> = {
  size: 4,
  name: 'i32',
  align: 4,
  typedArray: hostView('Int32Array'),
  encode: (v, buf, o) => void buf.writeInt32LE(int('i32', -0x80000000, 0x7fffffff, v), o),
  decode: (buf, o) => buf.readInt32LE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('i32', -0x80000000, 0x7fffffff, j),
};

/** Network byte order (big-endian) u16, e.g. a port as struct sockaddr_in stores it. */
export const be16: Codec<number> = {
  size: 2,
  name: 'be16',
  align: 2,
  typedArray: netView('Uint16Array'),
  encode: (v, buf, o) => void buf.writeUInt16BE(int('be16', 0, 0xffff, v), o),
  decode: (buf, o) => buf.readUInt16BE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('be16', 0, 0xffff, j),
};

/** Network byte order (big-endian) u32. */
export const be32: Codec<number> = {
  size: 4,
  name: 'be32',
  align: 4,
  typedArray: netView('Uint32Array'),
  encode: (v, buf, o) => void buf.writeUInt32BE(int('be32', 0, 0xffffffff, v), o),
  decode: (buf, o) => buf.readUInt32BE(o),
  add: addNumber,
  toJSON: same,
  fromJSON: (j) => int('be32', 0, 0xffffffff, j),
};

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;

function big(codec: string, min: bigint, max: bigint, v: unknown): bigint {
  if (typeof v !== 'bigint' || v < min || v > max) {
    const hint = typeof v === 'number' && Number.isInteger(v) ? ` (write ${v}n or BigInt(${v}))` : '';
    throw new CodecError(codec, `expected a bigint ${min}..${max}, got ${show(v)}${hint}`);
  }
  return v;
}

/**
 * 64-bit integers in JSON are numbers while they are safe integers (|v| <= 2^53-1), decimal
 * strings beyond, so that any JSON parser reads them back exactly.
 */
function bigToJSON(v: bigint): number | string {
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v.toString();
}

function bigFromJSON(codec: string, min: bigint, max: bigint, j: unknown): bigint {
  let v: bigint | undefined;
  if (typeof j === 'bigint') v = j;
  else if (typeof j === 'number' && Number.isSafeInteger(j)) v = BigInt(j);
  else if (typeof j === 'string' && DECIMAL.test(j)) v = BigInt(j);
  if (v === undefined || v < min || v > max)
    throw new CodecError(codec, `expected an integer ${min}..${max} (a safe integer number or a decimal string), got ${show(j)}`);
  return v;
}

/** An unsigned 64-bit integer, host order, as a bigint. */
export const u64: Codec<bigint> = {
  size: 8,
  name: 'u64',
  align: 8,
  typedArray: hostView('BigUint64Array'),
  encode: (v, buf, o) => void buf.writeBigUInt64LE(big('u64', 0n, U64_MAX, v), o),
  decode: (buf, o) => buf.readBigUInt64LE(o),
  add: addBigInt,
  toJSON: bigToJSON,
  fromJSON: (j) => bigFromJSON('u64', 0n, U64_MAX, j),
};

/** A signed 64-bit integer, host order, as a bigint. */
export const i64: Codec<bigint> = {
  size: 8,
  name: 'i64',
  align: 8,
  typedArray: hostView('BigInt64Array'),
  encode: (v, buf, o) => void buf.writeBigInt64LE(big('i64', I64_MIN, I64_MAX, v), o),
  decode: (buf, o) => buf.readBigInt64LE(o),
  add: addBigInt,
  toJSON: bigToJSON,
  fromJSON: (j) => bigFromJSON('i64', I64_MIN, I64_MAX, j),
};

const TWO32 = 2 ** 32;

/** The number a 64-bit integer's halves make, or a CodecError where a number cannot hold it exactly. */
export function fromHalves(codec: string, lo: number, hi: number): number {
  // hi in -2^21..2^21-1: the value is within -2^53..2^53-1, where hi * 2^32 + lo is exact.
  const v = hi <= 0x1fffff && hi >= -0x200000 ? hi * TWO32 + lo : -Infinity;
  if (v < -Number.MAX_SAFE_INTEGER)
    throw new CodecError(codec, `the value does not fit a number exactly (|v| >= 2^53); decode it with ${codec.slice(0, -1)}, a bigint`);
  return v;
}

function safeInt(codec: string, min: number, v: unknown): number {
  return int(codec, min, Number.MAX_SAFE_INTEGER, v);
}

/** Exact sum of two safe integers, or a RangeError rather than a rounded total. */
function addSafe(a: number, b: number): number {
  const r = a + b;
  if (!Number.isSafeInteger(r)) throw new RangeError(`the total ${a} + ${b} passes 2^53, past what a number holds exactly; use u64/i64 (bigint)`);
  return r;
}

/**
 * u64 decoded as a number instead of a bigint: no BigInt per value, which makes reading many of them
 * several times cheaper. Values of 2^53 or more are a CodecError on decode, never a rounded number;
 * per-CPU totals past 2^53 a RangeError.
 */
export const u64n: Codec<number> = {
  size: 8,
  name: 'u64n',
  align: 8,
  halves: 'unsigned',
  encode: (v, buf, o) => {
    const n = safeInt('u64n', 0, v);
    const hi = Math.floor(n / TWO32);
    buf.writeUInt32LE(n - hi * TWO32, o + (HOST_LE ? 0 : 4));
    buf.writeUInt32LE(hi, o + (HOST_LE ? 4 : 0));
  },
  decode: (buf, o) => fromHalves('u64n', buf.readUInt32LE(o + (HOST_LE ? 0 : 4)), buf.readUInt32LE(o + (HOST_LE ? 4 : 0))),
  add: addSafe,
  toJSON: same,
  fromJSON: (j) => safeInt('u64n', 0, j),
};

/** i64 decoded as a number: as u64n, for |v| <= 2^53 - 1. */
export const i64n: Codec<number> = {
  size: 8,
  name: 'i64n',
  align: 8,
  halves: 'signed',
  encode: (v, buf, o) => {
    const n = safeInt('i64n', -Number.MAX_SAFE_INTEGER, v);
    const hi = Math.floor(n / TWO32);
    buf.writeUInt32LE(n - hi * TWO32, o + (HOST_LE ? 0 : 4));
    buf.writeInt32LE(hi, o + (HOST_LE ? 4 : 0));
  },
  decode: (buf, o) => fromHalves('i64n', buf.readUInt32LE(o + (HOST_LE ? 0 : 4)), buf.readInt32LE(o + (HOST_LE ? 4 : 0))),
  add: addSafe,
  toJSON: same,
  fromJSON: (j) => safeInt('i64n', -Number.MAX_SAFE_INTEGER, j),
};
