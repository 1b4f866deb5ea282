import { type Codec, CodecError, show } from './codec.js';

/**
 * A NUL-terminated char[size] holding UTF-8 text. Decoding stops at the first NUL (or at the
 * end when there is none); encoding takes at most size-1 bytes, so a NUL always fits, and
 * zero-fills the rest. Bytes that are not UTF-8 decode to U+FFFD (use bytes(size) to keep them).
 */
export function cstring(size: number): Codec<string> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cstring(size): size must be a positive integer, got ${size}`);
  const name = `char[${size}]`;
  const check = (v: unknown): string => {
    if (typeof v !== 'string') throw new CodecError(name, `expected a string, got ${show(v)}`);
    if (v.includes('\0')) throw new CodecError(name, `the string contains a NUL, which would end it early: ${show(v)}`);
    const n = Buffer.byteLength(v, 'utf8');
    if (n > size - 1) throw new CodecError(name, `expected at most ${size - 1} UTF-8 bytes (one is kept for the NUL), got ${n}: ${show(v)}`);
    return v;
  };
  return {
    size,
    name,
    align: 1,
    encode(value: string, buf: Buffer, offset: number): void {
      if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      const n = buf.write(check(value), offset, 'utf8');
      buf.fill(0, offset + n, offset + size);
    },
    decode(buf: Buffer, offset: number): string {
      const end = offset + size;
      if (offset < 0 || end > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      let i = offset;
      while (i < end && buf[i] !== 0) i++;
      return buf.toString('utf8', offset, i);
    },
    toJSON: (value) => value,
    fromJSON: check,
  };
}
