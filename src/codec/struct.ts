import { alignOf, type Codec, CodecError, type CodecType, fromJSONValue, type JsonValue, show, toJSONValue } from './codec.js';

/** The members of a struct or union: C identifiers to codecs, in declaration order. */
export type Fields = Record<string, Codec<unknown>>;

/** The object a struct codec speaks. */
export type StructValue<F extends Fields> = { [K in keyof F]: CodecType<F[K]> };

/** Options of struct(): its C name, and whether it is packed. */
export interface StructOptions {
  /** Like __attribute__((packed)): no padding, alignment 1. */
  packed?: boolean;
  /** The C tag, for messages ("struct flow") and as the root of field paths in errors ("flow.sport"). */
  name?: string;
}

/** A field of a struct or union codec, with its byte offset. */
export interface StructField {
  readonly name: string;
  readonly codec: Codec<unknown>;
  readonly offset: number;
}

/** A codec of a C struct, with its laid-out fields. */
export interface StructCodec<F extends Fields> extends Codec<StructValue<F>> {
  readonly align: number;
  /** Byte offset of each field, as offsetof() gives it. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** The fields in declaration order with their offsets. */
  readonly fields: readonly StructField[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks a struct or union's member list; integer-like keys would also reorder in a JS object. */
export function memberList(kind: string, fields: Fields): [string, Codec<unknown>][] {
  if (typeof fields !== 'object' || fields === null) throw new TypeError(`${kind}: expected an object of field codecs, got ${show(fields)}`);
  const list = Object.entries(fields);
  if (list.length === 0) throw new TypeError(`${kind}: needs at least one field`);
  for (const [name, c] of list) {
    if (!IDENT.test(name)) throw new TypeError(`${kind}: field name "${name}" is not a C identifier`);
    if (typeof c !== 'object' || c === null || !Number.isInteger(c.size) || typeof c.encode !== 'function' || typeof c.decode !== 'function')
      throw new TypeError(`${kind}: field ${name} is not a codec`);
    const a = alignOf(c);
    if (!Number.isInteger(a) || a < 1 || (a & (a - 1)) !== 0) throw new TypeError(`${kind}: field ${name}'s codec ${c.name} has alignment ${a}, not a power of two`);
  }
  return list;
}

/** The JSON object for a struct or union, refusing arrays and unknown members. */
export function jsonObject(name: string, members: readonly string[], j: unknown): Record<string, unknown> {
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new CodecError(name, `expected an object with fields ${members.join(', ')}, got ${show(j)}`);
  for (const k of Object.keys(j))
    if (!members.includes(k)) throw new CodecError(name, `unknown field "${k}" (fields: ${members.join(', ')})`);
  return j as Record<string, unknown>;
}

/** Rethrows e with the member's segment added to its path when it is a CodecError. */
export function member(e: unknown, field: string, root: string | undefined): unknown {
  return e instanceof CodecError ? e.within(`.${field}`, root) : e;
}

function roundUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * A C struct laid out as gcc/clang do on x86_64 and arm64: each field at the next multiple of
 * its alignment, the size rounded up to the largest alignment. Padding is zeroed on encode and
 * ignored on decode.
 */
export function struct<F extends Fields>(fields: F, opts: StructOptions = {}): StructCodec<F> {
  const label = opts.name === undefined ? 'struct' : `struct ${opts.name}`;
  const list = memberList(label, fields);
  const packed = opts.packed === true;
  const names = list.map(([n]) => n);
  const codecs = list.map(([, c]) => c);
  const offs: number[] = [];
  const padding: number[] = []; // [start, end) pairs
  let end = 0;
  let align = 1;
  for (const c of codecs) {
    const a = packed ? 1 : alignOf(c);
    const at = roundUp(end, a);
    if (at > end) padding.push(end, at);
    offs.push(at);
    end = at + c.size;
    align = Math.max(align, a);
  }
  const size = roundUp(end, align);
  if (size > end) padding.push(end, size);
  const n = names.length;
  const root = opts.name;
  const offsets = Object.fromEntries(names.map((nm, i) => [nm, offs[i]])) as { [K in keyof F]: number };
  const name = `${label} { ${list.map(([nm, c]) => `${c.name} ${nm}`).join('; ')} }`;

  const codec: StructCodec<F> = {
    size,
    name: opts.name === undefined ? name : label,
    align,
    offsets,
    fields: names.map((nm, i) => ({ name: nm, codec: codecs[i] as Codec<unknown>, offset: offs[i] as number })),
    encode(value: StructValue<F>, buf: Buffer, offset: number): void {
      if (typeof value !== 'object' || value === null) throw new CodecError(codec.name, `expected an object with fields ${names.join(', ')}, got ${show(value)}`);
      if (offset < 0 || offset + size > buf.length) throw new RangeError(`${codec.name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      const v = value as Record<string, unknown>;
      for (let i = 0; i < n; i++) {
        const nm = names[i] as string;
        try {
          (codecs[i] as Codec<unknown>).encode(v[nm], buf, offset + (offs[i] as number));
        } catch (e) {
          throw member(e, nm, root);
        }
      }
      for (let p = 0; p < padding.length; p += 2)
        for (let b = offset + (padding[p] as number), e = offset + (padding[p + 1] as number); b < e; b++) buf[b] = 0;
    },
    decode(buf: Buffer, offset: number): StructValue<F> {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[names[i] as string] = (codecs[i] as Codec<unknown>).decode(buf, offset + (offs[i] as number));
      return out as StructValue<F>;
    },
    toJSON(value: StructValue<F>): JsonValue {
      const v = value as Record<string, unknown>;
      const out: Record<string, JsonValue> = {};
      for (let i = 0; i < n; i++) {
        const nm = names[i] as string;
        out[nm] = toJSONValue(codecs[i] as Codec<unknown>, v[nm]);
      }
      return out;
    },
    fromJSON(json: unknown): StructValue<F> {
      const j = jsonObject(codec.name, names, json);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const nm = names[i] as string;
        try {
          if (!Object.hasOwn(j, nm)) throw new CodecError(codec.name, 'missing field');
          out[nm] = fromJSONValue(codecs[i] as Codec<unknown>, j[nm]);
        } catch (e) {
          throw member(e, nm, root);
        }
      }
      return out as StructValue<F>;
    },
  };
  if (codecs.every((c) => c.add !== undefined)) {
    // Field-wise sums, e.g. per-CPU { packets, bytes } counters.
    codec.add = (a: StructValue<F>, b: StructValue<F>): StructValue<F> => {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const nm = names[i] as string;
        out[nm] = (codecs[i] as Required<Codec<unknown>>).add(x[nm], y[nm]);
      }
      return out as StructValue<F>;
    };
  }
  return codec;
}
