import type { Codec } from '../codec/codec.js';
import type { BpfMap } from '../map/map.js';
import { UsageError } from './errors.js';

const WIDTHS: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };
export const RAW_FIELD = /^(u8|u16|u32|u64)@([0-9]+)$/;

/** Reads the watched number of one entry's value (per-CPU: summed over the CPUs). */
export type FieldReader = (values: Buffer, off: number) => number;

/**
 * The value field to rank by: `u64@8` (an unsigned little-endian integer at a byte offset), or by
 * default the whole value when it is 1, 2, 4 or 8 bytes, else its first 8 bytes.
 */
export function fieldReader(map: BpfMap<unknown, unknown>, spec: string | undefined): { name: string; read: FieldReader } {
  let width: number;
  let at: number;
  if (spec === undefined) {
    width = WIDTHS[`u${map.valueSize * 8}`] ?? 8;
    at = 0;
    if (map.valueSize < 8 && width === 8) width = [4, 2, 1].find((w) => w <= map.valueSize) as number;
  } else {
    const m = RAW_FIELD.exec(spec);
    if (!m)
      throw new UsageError(
        `--field must look like u64@0 (an unsigned integer type and a byte offset in the value; field names need the map's BTF), got "${spec}"`,
      );
    width = WIDTHS[m[1] as string] as number;
    at = Number(m[2]);
  }
  if (at + width > map.valueSize) throw new UsageError(`--field u${width * 8}@${at} is past the end of the ${map.valueSize}-byte value`);
  const stride = map.perCpu ? map.valueBytes / map.cpus : map.valueSize;
  const copies = map.perCpu ? map.cpus : 1;
  const one = width === 8 ? (b: Buffer, o: number) => Number(b.readBigUInt64LE(o)) : (b: Buffer, o: number) => b.readUIntLE(o, width);
  const read: FieldReader =
    copies === 1
      ? (b, o) => one(b, o + at)
      : (b, o) => {
          let s = 0;
          for (let c = 0; c < copies; c++) s += one(b, o + c * stride + at);
          return s;
        };
  return { name: `u${width * 8}@${at}`, read };
}

/** The numeric leaves of a decoded value, as dotted paths ("" for a value that is a number). */
function numericPaths(v: unknown, prefix = ''): string[] {
  if (typeof v === 'number' || typeof v === 'bigint') return [prefix];
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => numericPaths(x, prefix ? `${prefix}.${k}` : k));
}

function pick(v: unknown, path: string): unknown {
  return path === ''
    ? v
    : path.split('.').reduce<unknown>((x, k) => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), v);
}

/**
 * A value field by name, through the codec of a map with BTF (per-CPU: summed over the CPUs):
 * `bytes`, `stats.packets`; by default the value itself when it is a number, else its first
 * numeric field.
 */
export function namedFieldReader(
  map: BpfMap<unknown, unknown>,
  elem: Codec<unknown>,
  path: string | undefined,
): { name: string; read: FieldReader } {
  const fields = numericPaths(elem.decode(Buffer.alloc(elem.size), 0));
  const name = path ?? fields[0];
  if (name === undefined) throw new UsageError(`${elem.name} values have no numeric field to watch`);
  if (!fields.includes(name))
    throw new UsageError(`--field ${name} is not a numeric field of ${elem.name} (fields: ${fields.join(', ') || 'none'})`);
  const stride = map.perCpu ? map.valueBytes / map.cpus : map.valueBytes;
  const cpus = map.perCpu ? map.cpus : 1;
  const read: FieldReader = (b, o) => {
    let sum = 0;
    for (let c = 0; c < cpus; c++) sum += Number(pick(elem.decode(b, o + c * stride), name));
    return sum;
  };
  return { name: name || 'value', read };
}
