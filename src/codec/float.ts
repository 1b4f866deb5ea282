import { type Codec, CodecError, type JsonValue, show } from './codec.js';

// JSON has no NaN, infinities or negative zero: they travel as the strings below so the round
// trip stays exact (NaN payload bits are not kept).
const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

function floatToJSON(v: number): JsonValue {
  return Number.isFinite(v) && !Object.is(v, -0) ? v : String(Object.is(v, -0) ? '-0' : v);
}

function float(codec: string, v: unknown, single: boolean): number {
  if (typeof v !== 'number') throw new CodecError(codec, `expected a number, got ${show(v)}`);
  if (single && Number.isFinite(v) && !Number.isFinite(Math.fround(v)))
    throw new CodecError(codec, `${v} is beyond the range of a 32-bit float (about ±3.4e38)`);
  return v;
}

function floatFromJSON(codec: string, j: unknown, single: boolean): number {
  if (typeof j === 'string' && Object.hasOwn(SPECIAL, j)) return SPECIAL[j] as number;
  if (typeof j !== 'number')
    throw new CodecError(codec, `expected a number or one of "NaN", "Infinity", "-Infinity", "-0", got ${show(j)}`);
  return float(codec, j, single);
}

function addNumber(a: number, b: number): number {
  return a + b;
}

/** IEEE 754 single precision; encoding rounds to the nearest float32. */
export const f32: Codec<number> = {
  size: 4,
  name: 'f32',
  align: 4,
  typedArray: 'Float32Array',
  encode: (v, buf, o) => void buf.writeFloatLE(float('f32', v, true), o),
  decode: (buf, o) => buf.readFloatLE(o),
  add: addNumber,
  toJSON: floatToJSON,
  fromJSON: (j) => floatFromJSON('f32', j, true),
};

/** A double (8 bytes, host order). */
export const f64: Codec<number> = {
  size: 8,
  name: 'f64',
  align: 8,
  typedArray: 'Float64Array',
  encode: (v, buf, o) => void buf.writeDoubleLE(float('f64', v, false), o),
  decode: (buf, o) => buf.readDoubleLE(o),
  add: addNumber,
  toJSON: floatToJSON,
  fromJSON: (j) => floatFromJSON('f64', j, false),
};
