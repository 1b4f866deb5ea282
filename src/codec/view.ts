import type { Codec, TypedArrayName } from './codec.js';

/** The TypedArray instances typedView can return. */
export type TypedArrayOf = {
  Int8Array: Int8Array;
  Uint8Array: Uint8Array;
  Int16Array: Int16Array;
  Uint16Array: Uint16Array;
  Int32Array: Int32Array;
  Uint32Array: Uint32Array;
  BigInt64Array: BigInt64Array;
  BigUint64Array: BigUint64Array;
  Float32Array: Float32Array;
  Float64Array: Float64Array;
};
/** Any TypedArray a codec can be viewed as. */
export type AnyTypedArray = TypedArrayOf[TypedArrayName];

const CTORS: { [N in TypedArrayName]: new (b: ArrayBufferLike, offset: number, length: number) => TypedArrayOf[N] } = {
  Int8Array,
  Uint8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
  Float32Array,
  Float64Array,
};

/**
 * A zero-copy TypedArray over values packed back to back in buf (e.g. a dump's keys or values),
 * or undefined when the codec has no such element or buf is not aligned for it. The view shares
 * memory with buf: writes through either show in both.
 */
export function typedView(codec: Codec<unknown>, buf: Buffer): AnyTypedArray | undefined {
  const name = codec.typedArray;
  if (name === undefined) return undefined;
  if (buf.length % codec.size !== 0)
    throw new RangeError(`typedView: ${buf.length} bytes are not a whole number of ${codec.name} (${codec.size} bytes)`);
  if (buf.byteOffset % codec.size !== 0) return undefined;
  return new CTORS[name](buf.buffer, buf.byteOffset, buf.length / codec.size);
}
