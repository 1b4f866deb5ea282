import type { Codec } from './codec.js';

/** Raw bytes of exactly `size` bytes: decoding returns a copy the caller may keep. */
export function bytes(size: number): Codec<Buffer> {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`bytes(size): size must be a non-negative integer, got ${size}`);
  return {
    size,
    name: `${size} bytes`,
    encode(value: Buffer, buf: Buffer, offset: number): void {
      if (!(value instanceof Uint8Array))
        throw new TypeError(`expected a Buffer or Uint8Array of ${size} bytes, got ${typeof value}`);
      if (value.length !== size) throw new TypeError(`expected ${size} bytes, got ${value.length}`);
      buf.set(value, offset);
    },
    decode(buf: Buffer, offset: number): Buffer {
      return Buffer.from(buf.subarray(offset, offset + size));
    },
  };
}
