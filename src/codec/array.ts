import { alignOf, type Codec, CodecError, fromJSONValue, type JsonValue, show, toJSONValue } from './codec.js';

function index(e: unknown, i: number): unknown {
  return e instanceof CodecError ? e.within(`[${i}]`) : e;
}

/** An array codec, with what it is made of (BTF descriptions need it). */
export interface ArrayCodec<T> extends Codec<T[]> {
  readonly elem: Codec<T>;
  readonly length: number;
}

/** A C array T[length]: elements back to back, aligned as one element. */
export function array<T>(elem: Codec<T>, length: number): ArrayCodec<T> {
  if (typeof elem !== 'object' || elem === null || typeof elem.encode !== 'function') throw new TypeError(`array(elem, length): elem must be a codec, got ${show(elem)}`);
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`array(elem, length): length must be a non-negative integer, got ${length}`);
  const step = elem.size;
  const size = step * length;
  const name = `${elem.name}[${length}]`;
  const wrongShape = (v: unknown): CodecError => new CodecError(name, `expected an array of ${length} values, got ${show(v)}`);
  const codec: Codec<T[]> & { elem: Codec<T>; length: number } = {
    elem,
    length,
    size,
    name,
    align: alignOf(elem),
    encode(value: T[], buf: Buffer, offset: number): void {
      if (!Array.isArray(value) || value.length !== length) throw wrongShape(value);
      if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
      for (let i = 0; i < length; i++) {
        try {
          elem.encode(value[i] as T, buf, offset + i * step);
        } catch (e) {
          throw index(e, i);
        }
      }
    },
    decode(buf: Buffer, offset: number): T[] {
      const out = new Array<T>(length);
      for (let i = 0; i < length; i++) out[i] = elem.decode(buf, offset + i * step);
      return out;
    },
    toJSON(value: T[]): JsonValue {
      const out = new Array<JsonValue>(length);
      for (let i = 0; i < length; i++) out[i] = toJSONValue(elem, value[i] as T);
      return out;
    },
    fromJSON(json: unknown): T[] {
      if (!Array.isArray(json) || json.length !== length) throw wrongShape(json);
      const out = new Array<T>(length);
      for (let i = 0; i < length; i++) {
        try {
          out[i] = fromJSONValue(elem, json[i]);
        } catch (e) {
          throw index(e, i);
        }
      }
      return out;
    },
  };
  if (elem.add !== undefined) {
    const sum = elem as Required<Codec<T>>;
    // Element-wise sums, e.g. per-CPU histograms.
    codec.add = (a: T[], b: T[]): T[] => {
      const out = new Array<T>(length);
      for (let i = 0; i < length; i++) out[i] = sum.add(a[i] as T, b[i] as T);
      return out;
    };
  }
  return codec;
}
