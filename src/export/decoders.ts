import { endianness } from 'node:os';
import { ipv6 } from '../codec/ip.js';
import type { DecoderName } from './config.js';

/** Turns the bytes of a key field at an offset into a label value, escaped for the exposition. */
export type LabelDecoder = (buf: Buffer, offset: number) => string;

const LE = endianness() === 'LE';

/** Escapes a label value for the text formats: backslash, double quote and newline. */
export function escapeLabel(s: string): string {
  return /[\\"\n]/.test(s) ? s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : s;
}

/** An integer field in host order (as BPF programs store it) as decimal text, exact at 64 bits. */
export function integerText(size: number, signed: boolean): LabelDecoder {
  switch (size) {
    case 1:
      return signed ? (b, o) => String(b.readInt8(o)) : (b, o) => String(b[o]);
    case 2:
      return LE ? (signed ? (b, o) => String(b.readInt16LE(o)) : (b, o) => String(b.readUInt16LE(o))) : signed ? (b, o) => String(b.readInt16BE(o)) : (b, o) => String(b.readUInt16BE(o));
    case 4:
      return LE ? (signed ? (b, o) => String(b.readInt32LE(o)) : (b, o) => String(b.readUInt32LE(o))) : signed ? (b, o) => String(b.readInt32BE(o)) : (b, o) => String(b.readUInt32BE(o));
    case 8:
      return LE ? (signed ? (b, o) => b.readBigInt64LE(o).toString() : (b, o) => b.readBigUInt64LE(o).toString()) : signed ? (b, o) => b.readBigInt64BE(o).toString() : (b, o) => b.readBigUInt64BE(o).toString();
    default:
      throw new RangeError(`an integer is 1, 2, 4 or 8 bytes, got ${size}`);
  }
}

/** What a decoder needs to know of the field it reads. */
export interface DecoderField {
  size: number;
  signed: boolean;
  /** enum/static: integer text -> label value. */
  values?: ReadonlyMap<string, string>;
}

/** The label decoder for a field; a string says why the decoder cannot read this field. */
export function labelDecoder(name: DecoderName, f: DecoderField): LabelDecoder | string {
  const { size } = f;
  switch (name) {
    case 'integer':
      return [1, 2, 4, 8].includes(size) ? integerText(size, f.signed) : `the integer decoder reads 1, 2, 4 or 8 bytes, the field has ${size} (hex reads any size)`;
    case 'hex':
      return (b, o) => b.toString('hex', o, o + size);
    case 'ipv4':
      return size === 4 ? (b, o) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}` : `the ipv4 decoder reads 4 bytes, the field has ${size}`;
    case 'ipv6':
      return size === 16 ? (b, o) => ipv6.decode(b, o) : `the ipv6 decoder reads 16 bytes, the field has ${size}`;
    case 'port':
      return size === 2 ? (b, o) => String(b.readUInt16BE(o)) : `the port decoder reads 2 bytes (network order), the field has ${size}`;
    case 'string':
      return (b, o) => {
        const end = b.indexOf(0, o);
        return escapeLabel(b.toString('utf8', o, end < 0 || end > o + size ? o + size : end));
      };
    case 'enum':
    case 'static': {
      if (![1, 2, 4, 8].includes(size)) return `the ${name} decoder reads an integer of 1, 2, 4 or 8 bytes, the field has ${size}`;
      if (!f.values) return name === 'enum' ? 'the enum decoder needs a BTF enum member or values: {integer: name, ...}' : 'the static decoder needs values';
      const num = integerText(size, f.signed);
      const names = new Map<string, string>();
      for (const [k, v] of f.values) names.set(k, escapeLabel(v));
      // A number without a name is exported as the number: a new enum value is never lost.
      return (b, o) => {
        const n = num(b, o);
        return names.get(n) ?? n;
      };
    }
  }
}

/** Reads a metric's value from an entry's value bytes, as a float64 (as Prometheus keeps it). */
export type ValueReader = (buf: Buffer, offset: number) => number;

export function valueReader(size: number, signed: boolean, float: boolean): ValueReader | string {
  if (float) {
    if (size === 4) return LE ? (b, o) => b.readFloatLE(o) : (b, o) => b.readFloatBE(o);
    if (size === 8) return LE ? (b, o) => b.readDoubleLE(o) : (b, o) => b.readDoubleBE(o);
    return `a float value is 4 or 8 bytes, the field has ${size}`;
  }
  switch (size) {
    case 1:
      return signed ? (b, o) => b.readInt8(o) : (b, o) => b[o] as number;
    case 2:
      return LE ? (signed ? (b, o) => b.readInt16LE(o) : (b, o) => b.readUInt16LE(o)) : signed ? (b, o) => b.readInt16BE(o) : (b, o) => b.readUInt16BE(o);
    case 4:
      return LE ? (signed ? (b, o) => b.readInt32LE(o) : (b, o) => b.readUInt32LE(o)) : signed ? (b, o) => b.readInt32BE(o) : (b, o) => b.readUInt32BE(o);
    case 8: {
      // Two 32-bit halves: exact up to 2^53, rounded beyond like any float64, and no BigInt per entry.
      if (!LE) return signed ? (b, o) => b.readInt32BE(o) * 4294967296 + b.readUInt32BE(o + 4) : (b, o) => b.readUInt32BE(o) * 4294967296 + b.readUInt32BE(o + 4);
      return signed ? (b, o) => b.readInt32LE(o + 4) * 4294967296 + b.readUInt32LE(o) : (b, o) => b.readUInt32LE(o + 4) * 4294967296 + b.readUInt32LE(o);
    }
    default:
      return `a value is an integer of 1, 2, 4 or 8 bytes, the field has ${size}`;
  }
}
