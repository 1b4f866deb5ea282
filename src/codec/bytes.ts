import { type Codec, CodecError, hexBytes, show } from './codec.js';

/** Raw bytes of exactly `size` bytes: decoding returns a copy the caller may keep. JSON: hex. */
export function bytes(size: number): Codec<Buffer> {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`bytes(size): size must be a non-negative integer, got ${size}`);
  const name = `${size} bytes`;
  return {
    size,
    name,
    align: 1,
    encode(value: Buffer, buf: Buffer, offset: number): void {
      if (!(value instanceof Uint8Array)) throw new CodecError(name, `expected a Buffer or Uint8Array of ${size} bytes, got ${show(value)}`);
      if (value.length !== size) throw new CodecError(name, `expected ${size} bytes, got ${value.length}`);
      buf.set(value, offset);
    },
    decode(buf: Buffer, offset: number): Buffer {
      // A short copy would leave uninitialized bytes in the result.
      if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      const out = Buffer.allocUnsafe(size);
      // Short copies are faster by hand than through the native copy.
      if (size <= 64) for (let i = 0; i < size; i++) out[i] = buf[offset + i] as number;
      else buf.copy(out, 0, offset, offset + size);
      return out;
    },
    toJSON: (value) => Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex'),
    fromJSON: (json) => hexBytes(json, size, name),
  };
}
