import { roundUpValueSize } from '../sys/value-size.js';
import { type Codec, CodecError, fromJSONValue, type JsonValue, show, toJSONValue } from './codec.js';

/** A per-CPU value codec as a map sees it: V is the whole value, one element per possible CPU. */
export interface PerCpuValue<V> {
  readonly perCpu: true;
  readonly elem: Codec<unknown>;
  /** Type-level only, never set: lets `BpfMap.create({ value: perCpu(u64) })` infer bigint[]. */
  readonly values?: V;
}

/** Marks a value codec as per-CPU: the map's values are then one T per possible CPU. */
export interface PerCpu<T> extends PerCpuValue<T[]> {
  readonly elem: Codec<T>;
}

/** A per-CPU value codec of elem: the map holds one elem per possible CPU. */
export function perCpu<T>(elem: Codec<T>): PerCpu<T> {
  return { perCpu: true, elem };
}

export function isPerCpu(c: Codec<unknown> | PerCpuValue<unknown>): c is PerCpuValue<unknown> {
  return (c as PerCpuValue<unknown>).perCpu === true;
}

/** The error for summing values of a codec without add: why, naming the field, when the codec says. */
export function cannotAdd(op: string, elem: Codec<unknown>): TypeError {
  return new TypeError(`${op}: ${elem.name} values cannot be added (${elem.whyNoAdd ?? 'the codec has no add'})`);
}

/** The exact total of a per-CPU value, for codecs with add (integers, floats, structs and arrays of them). */
export function sumPerCpu<T>(elem: Codec<T>, values: readonly T[]): T {
  if (elem.add === undefined) throw cannotAdd('sumPerCpu', elem);
  if (!Array.isArray(values) || values.length === 0) throw new TypeError(`sumPerCpu: expected a non-empty array of per-CPU values, got ${show(values)}`);
  let total = values[0] as T;
  for (let i = 1; i < values.length; i++) total = elem.add(total, values[i] as T);
  return total;
}

/**
 * A per-CPU value as the syscalls see it: ncpus slots of round_up(size, 8) bytes. Padding is
 * zeroed on encode and never decoded.
 */
export function perCpuLayout<T>(elem: Codec<T>, ncpus: number): Codec<T[]> {
  const stride = roundUpValueSize(elem.size);
  return {
    size: stride * ncpus,
    name: `per-CPU ${elem.name} x ${ncpus}`,
    encode(values: T[], buf: Buffer, offset: number): void {
      if (!Array.isArray(values) || values.length !== ncpus)
        throw new TypeError(`per-CPU value: expected an array of ${ncpus} values (one per possible CPU), got ${Array.isArray(values) ? values.length : typeof values}`);
      buf.fill(0, offset, offset + stride * ncpus);
      for (let i = 0; i < ncpus; i++) elem.encode(values[i] as T, buf, offset + i * stride);
    },
    decode(buf: Buffer, offset: number): T[] {
      const out = new Array<T>(ncpus);
      for (let i = 0; i < ncpus; i++) out[i] = elem.decode(buf, offset + i * stride);
      return out;
    },
    toJSON(values: T[]): JsonValue {
      return values.map((v) => toJSONValue(elem, v));
    },
    fromJSON(json: unknown): T[] {
      if (!Array.isArray(json) || json.length !== ncpus)
        throw new CodecError(`per-CPU ${elem.name}`, `expected an array of ${ncpus} values (one per possible CPU), got ${show(json)}`);
      return json.map((j, i) => {
        try {
          return fromJSONValue(elem, j);
        } catch (e) {
          throw e instanceof CodecError ? e.within(`[${i}]`) : e;
        }
      });
    },
  };
}
