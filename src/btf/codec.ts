import { type Codec, CodecError, type JsonValue, show } from '../codec/codec.js';
import type { Btf } from './btf.js';
import { BtfError } from './error.js';
import { MODIFIERS, type BtfComposite, type BtfDatasec, type BtfEnum, type BtfEnum64, type BtfInt, type BtfRef, type BtfType } from './types.js';

/** A value decoded through BTF: what a C value of that type looks like in JavaScript. */
export type BtfValue = number | bigint | boolean | string | Buffer | BtfValue[] | { [field: string]: BtfValue };

/** A codec made from a BTF type. */
export interface BtfCodec extends Codec<BtfValue> {
  /** The type id it was made from, in its Btf. */
  readonly typeId: number;
}

type Enc = (v: BtfValue, buf: Buffer, off: number, path: string) => void;
type Dec = (buf: Buffer, off: number) => BtfValue;
type Add = (a: BtfValue, b: BtfValue) => BtfValue;

/** Why a part has no add: where inside the value (".comm", "[]"), and what is there. */
interface NoAdd {
  path: string;
  why: string;
}

interface Part {
  size: number;
  enc: Enc;
  dec: Dec;
  /** Exact sum of two decoded values (per-CPU totals); absent with noAdd saying why. */
  add?: Add;
  noAdd?: NoAdd;
}

function typeError(path: string, want: string, got: unknown): CodecError {
  return refusal(path, `expected ${want}, got ${show(got)}`);
}

/** A CodecError at a field path ("a.b[2]"; empty: the value itself), kept in .path so a map can say key or value. */
function refusal(path: string, detail: string): CodecError {
  const e = new CodecError('value', detail);
  return path === '' ? e : e.within(path.startsWith('[') ? path : `.${path}`);
}

const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;

/** Integers as bigints, numbers, booleans, or decimal strings (how JSON carries 64-bit values). */
function toBigInt(v: BtfValue, path: string, want: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string' && DECIMAL.test(v)) return BigInt(v);
  throw typeError(path, want, v);
}

/** JSON for a decoded value: bigints as numbers while safe, decimal strings beyond; bytes as arrays. */
function jsonOf(v: BtfValue): JsonValue {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return [...v];
  if (Array.isArray(v)) return v.map(jsonOf);
  if (typeof v === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonOf(x);
    return out;
  }
  return v;
}

/** Reads `bits` bits at bit offset `bit` of buf[off..] (little-endian), unsigned. */
function readBits(buf: Buffer, off: number, bit: number, bits: number): bigint {
  const first = off + (bit >> 3);
  const last = off + ((bit + bits - 1) >> 3);
  let v = 0n;
  for (let i = last; i >= first; i--) v = (v << 8n) | BigInt(buf[i] as number);
  return (v >> BigInt(bit & 7)) & ((1n << BigInt(bits)) - 1n);
}

function writeBits(buf: Buffer, off: number, bit: number, bits: number, value: bigint): void {
  const first = off + (bit >> 3);
  const last = off + ((bit + bits - 1) >> 3);
  let cur = 0n;
  for (let i = last; i >= first; i--) cur = (cur << 8n) | BigInt(buf[i] as number);
  const shift = BigInt(bit & 7);
  const mask = ((1n << BigInt(bits)) - 1n) << shift;
  cur = (cur & ~mask) | ((value << shift) & mask);
  for (let i = first; i <= last; i++, cur >>= 8n) buf[i] = Number(cur & 0xffn);
}

function intRange(bits: number, signed: boolean): [bigint, bigint] {
  return signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
}

/** An integer of `bits` bits at bit `bit` of a field; numbers up to 32 bits, bigints beyond. */
function intPart(size: number, bit: number, bits: number, signed: boolean, bool: boolean, what: string): Part {
  const [lo, hi] = intRange(bits, signed);
  const big = bits > 32;
  const want = `${bool ? 'a boolean or ' : ''}an integer in ${lo}..${hi} (${what})`;
  // Whole 1/2/4/8-byte ints take the fast reads; anything else goes bit by bit.
  const whole = bit === 0 && bits === size * 8 && (size === 1 || size === 2 || size === 4 || size === 8);
  return {
    size,
    enc(v, buf, off, path) {
      const n = toBigInt(v, path, want);
      if (n < lo || n > hi) throw typeError(path, want, v);
      if (!whole) return writeBits(buf, off, bit, bits, BigInt.asUintN(bits, n));
      switch (size) {
        case 1: return void buf.writeUInt8(Number(n) & 0xff, off);
        case 2: return void buf.writeUInt16LE(Number(n) & 0xffff, off);
        case 4: return void buf.writeUInt32LE(Number(n) >>> 0, off);
        case 8: return void buf.writeBigUInt64LE(BigInt.asUintN(64, n), off);
        default: return writeBits(buf, off, 0, bits, BigInt.asUintN(bits, n));
      }
    },
    dec(buf, off) {
      let n: bigint | number;
      if (whole && size <= 4) {
        n = size === 1 ? (signed ? buf.readInt8(off) : buf.readUInt8(off)) : size === 2 ? (signed ? buf.readInt16LE(off) : buf.readUInt16LE(off)) : signed ? buf.readInt32LE(off) : buf.readUInt32LE(off);
      } else if (whole && size === 8) {
        n = signed ? buf.readBigInt64LE(off) : buf.readBigUInt64LE(off);
      } else {
        const u = readBits(buf, off, bit, bits);
        n = signed ? BigInt.asIntN(bits, u) : u;
      }
      if (bool) return n !== 0 && n !== 0n;
      return big || typeof n === 'number' ? n : Number(n);
    },
    // A bool is true on any CPU that has it set; integers add exactly (numbers stay exact up to 2^53).
    add: bool ? (a, b) => a === true || b === true : big ? (a, b) => toBigInt(a, '', want) + toBigInt(b, '', want) : addInts(want),
  };
}

/** Sum of integers decoded as numbers; a bigint on either side (a value written by hand) keeps it exact. */
function addInts(want: string): Add {
  return (a, b) => (typeof a === 'number' && typeof b === 'number' ? a + b : toBigInt(a, '', want) + toBigInt(b, '', want));
}

/** Typedefs the kernel gives integers held in network byte order (__wsum is a host-order partial sum). */
const NETWORK_ORDER = new Set(['__be16', '__be32', '__be64', '__sum16']);

/** Whether id names a network-order integer: a typedef in NETWORK_ORDER on the way to the int. */
function isNetworkOrder(btf: Btf, id: number): boolean {
  for (let cur = id, depth = 0; depth < 64; depth++) {
    const t = btf.type(cur);
    if (t.kind === 'typedef' && NETWORK_ORDER.has(t.name)) return true;
    if (!MODIFIERS.has(t.kind)) return false;
    cur = (t as BtfRef).type;
  }
  return false;
}

/** A whole 2, 4 or 8-byte integer stored big-endian: its bytes are swapped around the host-order part. */
function networkOrder(p: Part): Part {
  const size = p.size;
  const swap = (from: Buffer, at: number, to: Buffer, off: number): void => {
    for (let i = 0; i < size; i++) to[off + i] = from[at + size - 1 - i] as number;
  };
  const tmp = Buffer.alloc(size);
  // add (and noAdd) work on decoded numbers, which are the same in either byte order.
  return {
    ...p,
    enc(v, buf, off, path) {
      p.enc(v, tmp, 0, path);
      swap(tmp, 0, buf, off);
    },
    dec(buf, off) {
      swap(buf, off, tmp, 0);
      return p.dec(tmp, 0);
    },
  };
}

/** How codecFromBtf reads integers. */
export interface BtfCodecOptions {
  /**
   * 'btf' (default): integers typed __be16, __be32, __be64 or __sum16 are network order, as the
   * kernel's typedefs say; 'host': every integer in host order, the raw number a BPF program sees.
   */
  byteOrder?: 'btf' | 'host';
}

function isCharLike(btf: Btf, id: number): boolean {
  const t = btf.type(btf.resolve(id));
  // Only `char` is text: arrays of signed/unsigned char (u8[], __s8[]) are numbers, as bpftool shows them.
  return t.kind === 'int' && t.size === 1 && (t.char || t.name === 'char');
}

/**
 * Builds a codec for a BTF type: ints as numbers (bigints beyond 32 bits), bools as booleans,
 * enums as their names (numbers for values without one), char arrays as strings, other arrays
 * as arrays, structs and unions as objects (anonymous members' fields are merged in, as in C),
 * bitfields as numbers, floats as numbers, pointers as bigint addresses. Integers typed __be16,
 * __be32, __be64 or __sum16 are network order (see BtfCodecOptions). Encoding zero-fills
 * padding and members left out; unknown fields and out-of-range values are TypeErrors.
 */
export function codecFromBtf(btf: Btf, typeId: number, opts: BtfCodecOptions = {}): BtfCodec {
  const part = build(btf, typeId, 0, opts.byteOrder === 'host');
  const name = btf.describe(typeId);
  let align = 1;
  try {
    align = btf.alignOf(typeId);
  } catch {
    // Types without a natural alignment (odd float sizes) nest byte-aligned.
  }
  const scratch = Buffer.alloc(part.size);
  const codec: BtfCodec = {
    typeId,
    size: part.size,
    name,
    align,
    ...(part.add ? { add: part.add } : { whyNoAdd: `${name}${part.noAdd?.path ?? ''} is ${part.noAdd?.why ?? 'not a number'}, which cannot be summed` }),
    encode(value: BtfValue, buf: Buffer, offset: number): void {
      buf.fill(0, offset, offset + part.size);
      part.enc(value, buf, offset, '');
    },
    decode(buf: Buffer, offset: number): BtfValue {
      return part.dec(buf, offset);
    },
    toJSON: jsonOf,
    // Encoding checks every field (with its path) and decoding gives the canonical value.
    fromJSON(json: unknown): BtfValue {
      codec.encode(json as BtfValue, scratch, 0);
      return part.dec(scratch, 0);
    },
  };
  return codec;
}

function build(btf: Btf, id: number, depth: number, hostOrder: boolean): Part {
  if (depth > 64) throw new BtfError('types nest too deep for a codec', id);
  const rid = btf.resolve(id);
  const t = btf.type(rid);
  switch (t.kind) {
    case 'int': {
      const p = intType(t);
      const swapped = !hostOrder && t.bits === t.size * 8 && t.bitOffset === 0 && t.size > 1 && isNetworkOrder(btf, id);
      return swapped ? networkOrder(p) : p;
    }
    case 'enum':
    case 'enum64':
      return enumType(t);
    case 'float':
      return floatType(btf, rid, t.size);
    case 'ptr':
      return noAdd(intPart(btf.pointerSize, 0, btf.pointerSize * 8, false, false, btf.describe(id)), `a pointer (${btf.describe(id)})`);
    case 'array':
      return isCharLike(btf, t.type) ? charArray(t.nelems) : arrayType(btf, t.type, t.nelems, depth, hostOrder);
    case 'struct':
    case 'union':
      return composite(btf, rid, t, depth, hostOrder);
    case 'datasec':
      return datasec(btf, rid, t, depth, hostOrder);
    default:
      throw new BtfError(`cannot make a codec for ${btf.describe(id)} (${t.kind} has no value layout)`, id);
  }
}

/** A part whose values have no sum. */
function noAdd(p: Part, why: string): Part {
  const { add: _, ...rest } = p;
  return { ...rest, noAdd: { path: '', why } };
}

/** Where noAdd of a part nested at segment is. */
function within(segment: string, p: Part): NoAdd {
  const inner = p.noAdd ?? { path: '', why: 'not a number' };
  return { path: segment + inner.path, why: inner.why };
}

function intType(t: BtfInt): Part {
  if (t.bits === 0) throw new BtfError(`int ${t.name || '(anon)'} has no bits: no value to decode`);
  return intPart(t.size, t.bitOffset, t.bits, t.signed, t.bool, t.name);
}

function enumType(t: BtfEnum | BtfEnum64): Part {
  const bits = t.size * 8;
  const byValue = new Map<bigint, string>();
  const byName = new Map<string, bigint>();
  for (const v of t.values) {
    const n = BigInt(v.value);
    if (!byValue.has(n)) byValue.set(n, v.name);
    byName.set(v.name, n);
  }
  const signed = t.signed;
  const int = intPart(t.size, 0, bits, signed, false, `enum ${t.name || '(anon)'}`);
  const names = [...byName.keys()];
  return {
    size: t.size,
    enc(v, buf, off, path) {
      if (typeof v === 'string') {
        const n = byName.get(v);
        if (n === undefined) throw typeError(path, `one of ${names.join(', ')}`, v);
        return int.enc(signed ? n : BigInt.asUintN(bits, n), buf, off, path);
      }
      int.enc(v, buf, off, path);
    },
    dec(buf, off) {
      const raw = int.dec(buf, off) as number | bigint;
      return byValue.get(BigInt(raw)) ?? raw;
    },
    add: enumAdd(byName, byValue, bits > 32),
  };
}

/** Enum values add by their numbers; the total is a name when one has that value. */
function enumAdd(byName: Map<string, bigint>, byValue: Map<bigint, string>, big: boolean): Add {
  const num = (v: BtfValue): bigint => (typeof v === 'string' ? (byName.get(v) ?? toBigInt(v, '', 'an enum value')) : toBigInt(v, '', 'an enum value'));
  return (a, b) => {
    const n = num(a) + num(b);
    return byValue.get(n) ?? (big ? n : Number(n));
  };
}

function floatType(btf: Btf, id: number, size: number): Part {
  if (size !== 4 && size !== 8) throw new BtfError(`no JavaScript number holds a ${size}-byte float`, id);
  return {
    size,
    enc(v, buf, off, path) {
      if (typeof v !== 'number') throw typeError(path, `a number (${btf.describe(id)})`, v);
      if (size === 4) buf.writeFloatLE(v, off);
      else buf.writeDoubleLE(v, off);
    },
    dec: (buf, off) => (size === 4 ? buf.readFloatLE(off) : buf.readDoubleLE(off)),
    add: (a, b) => (a as number) + (b as number),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * char[n]: a string of at most n UTF-8 bytes, NUL-padded; decoding stops at the first NUL.
 * Bytes that are not UTF-8 decode to a Buffer (so nothing is lost), which encodes back as is.
 */
function charArray(n: number): Part {
  return {
    size: n,
    noAdd: { path: '', why: `char[${n}], a string` },
    enc(v, buf, off, path) {
      if (v instanceof Uint8Array) {
        if (v.length > n) throw refusal(path, `${v.length} bytes, more than char[${n}] holds`);
        buf.set(v, off);
        return;
      }
      if (Array.isArray(v)) {
        // Bytes as JSON carries them (what toJSON gives for text that is not UTF-8).
        if (v.length > n || !v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255))
          throw typeError(path, `at most ${n} byte values`, v);
        buf.set(v as number[], off);
        return;
      }
      if (typeof v !== 'string') throw typeError(path, `a string of at most ${n} bytes`, v);
      const len = Buffer.byteLength(v, 'utf8');
      if (len > n) throw refusal(path, `${show(v)} is ${len} bytes, more than char[${n}] holds`);
      buf.write(v, off, len, 'utf8');
    },
    dec(buf, off) {
      const nul = buf.indexOf(0, off);
      const bytes = buf.subarray(off, nul < 0 || nul > off + n ? off + n : nul);
      try {
        return utf8.decode(bytes);
      } catch {
        return Buffer.from(bytes);
      }
    },
  };
}

/** More elements than any map value holds (the kernel caps values far below this). */
const MAX_ELEMS = 1 << 24;

function arrayType(btf: Btf, elem: number, n: number, depth: number, hostOrder: boolean): Part {
  if (n > MAX_ELEMS) throw new BtfError(`an array of ${n} elements is too large for a codec`, elem);
  const e = build(btf, elem, depth + 1, hostOrder);
  const add = e.add;
  return {
    size: e.size * n,
    ...(add
      ? {
          // Element-wise, e.g. per-CPU histograms.
          add: (a: BtfValue, b: BtfValue) => (a as BtfValue[]).map((x, i) => add(x, (b as BtfValue[])[i] as BtfValue)),
        }
      : { noAdd: within('[]', e) }),
    enc(v, buf, off, path) {
      if (!Array.isArray(v) || v.length > n) throw typeError(path, `an array of at most ${n} elements`, v);
      for (let i = 0; i < v.length; i++) e.enc(v[i] as BtfValue, buf, off + i * e.size, `${path}[${i}]`);
    },
    dec(buf, off) {
      const out = new Array<BtfValue>(n);
      for (let i = 0; i < n; i++) out[i] = e.dec(buf, off + i * e.size);
      return out;
    },
  };
}

interface Field {
  name: string;
  part: Part;
  /** Byte offset of the field's storage. */
  off: number;
}

/** Fields of a struct/union, with anonymous struct/union members flattened into it. */
function fields(btf: Btf, t: BtfComposite, base: number, depth: number, hostOrder: boolean, out: Field[]): void {
  for (const m of t.members) {
    if (m.name === '') {
      const inner = btf.type(btf.resolve(m.type));
      if (inner.kind === 'struct' || inner.kind === 'union') {
        fields(btf, inner, base + m.bitOffset / 8, depth + 1, hostOrder, out);
        continue;
      }
      // An unnamed bitfield is padding: nothing to show.
      continue;
    }
    let bitfield: { bit: number; bits: number } | undefined;
    if (m.bitSize > 0) {
      bitfield = { bit: m.bitOffset, bits: m.bitSize };
    } else {
      // Old-style bitfields: a plain member of an int type narrower than its storage.
      const r = btf.type(btf.resolve(m.type));
      if (r.kind === 'int' && (r.bits !== r.size * 8 || r.bitOffset !== 0 || m.bitOffset % 8 !== 0))
        bitfield = { bit: m.bitOffset + r.bitOffset, bits: r.bits };
    }
    if (bitfield?.bits === 0) continue; // a zero-width bitfield only aligns what follows
    if (bitfield) {
      const r = btf.type(btf.resolve(m.type)) as BtfType;
      const signed = (r.kind === 'int' || r.kind === 'enum' || r.kind === 'enum64') && r.signed;
      const storage = Math.ceil(((bitfield.bit & 7) + bitfield.bits) / 8);
      const bits = intPart(storage, bitfield.bit & 7, bitfield.bits, signed, r.kind === 'int' && r.bool, `${bitfield.bits}-bit field`);
      const part = r.kind === 'enum' || r.kind === 'enum64' ? withEnumNames(bits, r) : bits;
      out.push({ name: m.name, part, off: base + (bitfield.bit >> 3) });
      continue;
    }
    out.push({ name: m.name, part: build(btf, m.type, depth + 1, hostOrder), off: base + m.bitOffset / 8 });
  }
}

/** Names on top of a bitfield of enum type. */
function withEnumNames(bits: Part, t: BtfEnum | BtfEnum64): Part {
  const byValue = new Map<bigint, string>(t.values.map((v) => [BigInt(v.value), v.name] as [bigint, string]).reverse());
  const byName = new Map<string, bigint>(t.values.map((v) => [v.name, BigInt(v.value)]));
  return {
    size: bits.size,
    enc(v, buf, off, path) {
      if (typeof v === 'string') {
        const n = byName.get(v);
        if (n === undefined) throw typeError(path, `one of ${[...byName.keys()].join(', ')}`, v);
        return bits.enc(n, buf, off, path);
      }
      bits.enc(v, buf, off, path);
    },
    dec(buf, off) {
      const raw = bits.dec(buf, off) as number | bigint;
      return byValue.get(BigInt(raw)) ?? raw;
    },
    add: enumAdd(byName, byValue, false),
  };
}

function composite(btf: Btf, id: number, t: BtfComposite, depth: number, hostOrder: boolean): Part {
  const list: Field[] = [];
  fields(btf, t, 0, depth, hostOrder, list);
  return objectPart(btf, id, t.size, list, t.kind === 'union');
}

/** A DATASEC (a program's .bss, .data, .rodata): an object of its variables by name, at their offsets. */
function datasec(btf: Btf, id: number, t: BtfDatasec, depth: number, hostOrder: boolean): Part {
  const list = sectionVars(btf, t).map((v) => ({ name: v.name, part: build(btf, v.type, depth + 1, hostOrder), off: v.offset }));
  return objectPart(btf, id, t.size, list, false);
}

/** The variables of a DATASEC: name, the variable's type id, and its offset in the section. */
function sectionVars(btf: Btf, t: BtfDatasec): { name: string; type: number; offset: number }[] {
  return t.vars.map((v) => {
    const vt = btf.type(v.type);
    if (vt.kind !== 'var') throw new BtfError(`${btf.describe(v.type)} in datasec ${t.name} is not a variable`, v.type);
    return { name: vt.name, type: vt.type, offset: v.offset };
  });
}

/** One variable of a global-data section, with a codec of its own type. */
export interface SectionVariable {
  name: string;
  /** Byte offset in the section (the map's value). */
  offset: number;
  /** The variable's type id (const/volatile included, as declared). */
  typeId: number;
  codec: BtfCodec;
}

/** The variables of the DATASEC with this id, each with its codec (for reads and writes of one variable). */
export function sectionVariables(btf: Btf, typeId: number, opts: BtfCodecOptions = {}): SectionVariable[] {
  const t = btf.type(btf.resolve(typeId));
  if (t.kind !== 'datasec') throw new BtfError(`${btf.describe(typeId)} is not a datasec (global data)`, typeId);
  return sectionVars(btf, t).map((v) => ({ name: v.name, offset: v.offset, typeId: v.type, codec: codecFromBtf(btf, v.type, opts) }));
}

/** Structs, unions and sections: objects of named fields at their offsets. */
function objectPart(btf: Btf, id: number, size: number, list: Field[], union: boolean): Part {
  const known = new Set(list.map((f) => f.name));
  const what = btf.describe(id);
  if (known.size !== list.length) {
    const dup = list.find((f, i) => list.findIndex((g) => g.name === f.name) !== i);
    throw new BtfError(`${what} has two fields named "${dup?.name ?? ''}": no object can hold both`, id);
  }
  return {
    size,
    ...compositeAdd(union, list),
    enc(v, buf, off, path) {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Buffer.isBuffer(v)) throw typeError(path, `an object (${what})`, v);
      const obj = v as { [k: string]: BtfValue };
      for (const k of Object.keys(obj))
        if (!known.has(k)) throw refusal(path, `${what} has no field "${k}" (fields: ${[...known].join(', ')})`);
      for (const f of list) {
        const fv = obj[f.name];
        if (fv !== undefined) f.part.enc(fv, buf, off + f.off, path ? `${path}.${f.name}` : f.name);
      }
    },
    dec(buf, off) {
      const out: { [k: string]: BtfValue } = {};
      for (const f of list) out[f.name] = f.part.dec(buf, off + f.off);
      return out;
    },
  };
}

/** Structs add member by member; a union cannot (which member holds the value is not known). */
function compositeAdd(union: boolean, list: Field[]): { add: Add } | { noAdd: NoAdd } {
  if (union && list.length > 1) return { noAdd: { path: '', why: 'a union (which member holds the value is unknown)' } };
  const bad = list.find((f) => f.part.add === undefined);
  if (bad) return { noAdd: within(`.${bad.name}`, bad.part) };
  return {
    add(a, b) {
      const x = a as { [k: string]: BtfValue };
      const y = b as { [k: string]: BtfValue };
      const out: { [k: string]: BtfValue } = {};
      for (const f of list) out[f.name] = (f.part.add as Add)(x[f.name] as BtfValue, y[f.name] as BtfValue);
      return out;
    },
  };
}
