import { alignOf, type Codec, CodecError, type CodecType, fromJSONValue, type JsonValue, show, toJSONValue } from './codec.js';
import { type Fields, jsonObject, member, memberList, type StructField } from './struct.js';

/** A union's value: decode gives every member's reading of the bytes; encode needs at least one. */
export type UnionValue<F extends Fields> = { [K in keyof F]?: CodecType<F[K]> };

/** Options of union(): its C name. */
export interface UnionOptions {
  /** The C tag, for messages ("union addr") and as the root of field paths in errors. */
  name?: string;
}

/** A codec of a C union, with its fields (all at offset 0). */
export interface UnionCodec<F extends Fields> extends Codec<UnionValue<F>> {
  readonly align: number;
  /** The members in declaration order (all at offset 0). */
  readonly fields: readonly StructField[];
}

/**
 * A C union: every member at offset 0, the size that of the largest member rounded up to the
 * largest alignment. Encoding writes the largest member the value has (so that a decoded value,
 * which has them all, encodes back to the same bytes) and zeroes the bytes after it.
 */
export function union<F extends Fields>(fields: F, opts: UnionOptions = {}): UnionCodec<F> {
  const label = opts.name === undefined ? 'union' : `union ${opts.name}`;
  const list = memberList(label, fields);
  const root = opts.name;
  const align = Math.max(...list.map(([, c]) => alignOf(c)));
  const size = Math.ceil(Math.max(...list.map(([, c]) => c.size)) / align) * align;
  // Largest first: the first member a value has is the one written.
  const bySize = [...list].sort((a, b) => b[1].size - a[1].size);
  const names = list.map(([n]) => n);
  const name = opts.name === undefined ? `union { ${list.map(([nm, c]) => `${c.name} ${nm}`).join('; ')} }` : label;

  const pick = (v: Record<string, unknown>): [string, Codec<unknown>] => {
    for (const m of bySize) if (v[m[0]] !== undefined) return m;
    throw new CodecError(name, `expected an object with one of the members ${names.join(', ')}, got ${show(v)}`);
  };

  return {
    size,
    name,
    align,
    fields: list.map(([nm, c]) => ({ name: nm, codec: c, offset: 0 })),
    encode(value: UnionValue<F>, buf: Buffer, offset: number): void {
      if (typeof value !== 'object' || value === null)
        throw new CodecError(name, `expected an object with one of the members ${names.join(', ')}, got ${show(value)}`);
      if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      const [nm, c] = pick(value as Record<string, unknown>);
      try {
        c.encode((value as Record<string, unknown>)[nm], buf, offset);
      } catch (e) {
        throw member(e, nm, root);
      }
      buf.fill(0, offset + c.size, offset + size);
    },
    decode(buf: Buffer, offset: number): UnionValue<F> {
      const out: Record<string, unknown> = {};
      for (const [nm, c] of list) out[nm] = c.decode(buf, offset);
      return out as UnionValue<F>;
    },
    toJSON(value: UnionValue<F>): JsonValue {
      const out: Record<string, JsonValue> = {};
      for (const [nm, c] of list) {
        const v = (value as Record<string, unknown>)[nm];
        if (v !== undefined) out[nm] = toJSONValue(c, v);
      }
      return out;
    },
    fromJSON(json: unknown): UnionValue<F> {
      const j = jsonObject(name, names, json);
      const out: Record<string, unknown> = {};
      for (const [nm, c] of list) {
        if (!Object.hasOwn(j, nm)) continue;
        try {
          out[nm] = fromJSONValue(c, j[nm]);
        } catch (e) {
          throw member(e, nm, root);
        }
      }
      pick(out);
      return out as UnionValue<F>;
    },
  };
}
