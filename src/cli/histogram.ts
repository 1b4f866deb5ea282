import type { Command } from 'commander';
import type { BtfValue } from '../btf/codec.js';
import type { Codec } from '../codec/codec.js';
import type { BpfMap } from '../map/map.js';
import { integer } from './command.js';
import { displayCodecs } from './decode.js';
import { UsageError } from './errors.js';
import { fieldReader, namedFieldReader, type FieldReader } from './value-field.js';

/** How bucket indexes become ranges: bcc's log2 slots, or linear steps from a minimum. */
export type Scale = { kind: 'log2' } | { kind: 'linear'; step: number; min: number };

/** One histogram: counts by bucket index, under a group's label ('' when ungrouped). */
export interface Histogram {
  group: string;
  counts: Map<number, number>;
}

/** The options hist and watch --hist share. */
export interface HistOptions {
  bucket?: string;
  value?: string;
  group?: string;
  linear?: number;
  min?: string;
  label?: string;
}

const RAW = /^(u8|u16|u32|u64)@([0-9]+)$/;
const WIDTHS: Record<string, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** Reads an integer of a key: a raw `u32@0`, or a (dotted) field of the key's BTF type. */
type KeyReader = (keys: Buffer, off: number) => number;

function rawKeyReader(map: BpfMap<unknown, unknown>, spec: string, what: string): KeyReader {
  const m = RAW.exec(spec) as RegExpExecArray;
  const width = WIDTHS[m[1] as string] as number;
  const at = Number(m[2]);
  if (at + width > map.keySize) throw new UsageError(`${what} ${spec} is past the end of the ${map.keySize}-byte key`);
  return width === 8 ? (b, o) => Number(b.readBigUInt64LE(o + at)) : (b, o) => b.readUIntLE(o + at, width);
}

function pick(v: BtfValue | undefined, path: string): BtfValue | undefined {
  if (path === '') return v;
  let cur = v;
  for (const k of path.split('.'))
    cur = cur !== null && typeof cur === 'object' && !Array.isArray(cur) && !Buffer.isBuffer(cur) ? cur[k] : undefined;
  return cur;
}

/** The integer leaves of a decoded key, as dotted paths. */
function intPaths(v: BtfValue, prefix = ''): string[] {
  if (typeof v === 'number' || typeof v === 'bigint') return [prefix];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return [];
  return Object.entries(v).flatMap(([k, x]) => intPaths(x, prefix ? `${prefix}.${k}` : k));
}

/** The paths of every leaf of a decoded key (for grouping by what is not the bucket). */
function leafPaths(v: BtfValue, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v)) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

/** Bucket names bcc and bpftrace programs give the slot field of a grouped key. */
const BUCKET_NAMES = ['slot', 'bucket', 'idx', 'index'];

/** Reads entries into histograms: the bucket of each key, its group, and its count (per-CPU summed). */
export interface HistReader {
  bucketName: string;
  groupName: string | undefined;
  read(keys: Buffer, values: Buffer, count: number): Histogram[];
}

export function histReader(map: BpfMap<unknown, unknown>, o: HistOptions): HistReader {
  // Groups read as dump shows them: addresses as text, ports in network order.
  const keyCodec = (displayCodecs(map, { defaults: true, fields: [] })?.key ?? map.keyCodec) as Codec<BtfValue>;
  const typedKey = keyCodec.name !== `${keyCodec.size} bytes`;
  const elem = map.cpuCodec ?? map.valueCodec;
  const typedValue = elem.name !== `${elem.size} bytes`;
  const count: FieldReader = (
    !typedValue || (o.value !== undefined && RAW.test(o.value)) ? fieldReader(map, o.value) : namedFieldReader(map, elem, o.value)
  ).read;
  let bucket: KeyReader;
  let bucketName: string;
  let group: ((keys: Buffer, off: number) => string) | undefined;
  let groupName: string | undefined;
  if (!typedKey || (o.bucket !== undefined && RAW.test(o.bucket))) {
    const spec = o.bucket ?? ([1, 2, 4, 8].includes(map.keySize) ? `u${map.keySize * 8}@0` : '');
    if (!RAW.test(spec))
      throw new UsageError(`the ${map.keySize}-byte key has no BTF: give --bucket u32@OFFSET (an unsigned integer type and a byte offset)`);
    bucket = rawKeyReader(map, spec, '--bucket');
    bucketName = spec;
    if (o.group !== undefined) {
      if (!RAW.test(o.group)) throw new UsageError(`--group ${o.group}: the key has no BTF: give u32@OFFSET`);
      const g = rawKeyReader(map, o.group, '--group');
      group = (b, off) => String(g(b, off));
      groupName = o.group;
    }
  } else {
    const sample = keyCodec.decode(Buffer.alloc(keyCodec.size), 0);
    const ints = intPaths(sample);
    const name = o.bucket ?? (ints.includes('') ? '' : ints.find((p) => BUCKET_NAMES.includes(p.split('.').pop() as string)));
    if (name === undefined)
      throw new UsageError(
        `which key field is the bucket? give --bucket (integer fields of ${keyCodec.name}: ${ints.join(', ') || 'none'})`,
      );
    if (!ints.includes(name))
      throw new UsageError(`--bucket ${name} is not an integer field of ${keyCodec.name} (fields: ${ints.join(', ') || 'none'})`);
    bucketName = name || 'key';
    // Without --group, a key's other fields make its group: one histogram for each.
    const others = o.group !== undefined ? [o.group] : leafPaths(sample).filter((p) => p !== name && p !== '');
    for (const g of others)
      if (!leafPaths(sample).includes(g))
        throw new UsageError(`--group ${g} is not a field of ${keyCodec.name} (fields: ${leafPaths(sample).join(', ')})`);
    bucket = (b, off) => Number(pick(keyCodec.decode(b, off), name));
    if (others.length > 0) {
      groupName = others.join(', ');
      group = (b, off) => {
        const k = keyCodec.decode(b, off);
        return others.map((p) => `${p} = ${String(pick(k, p))}`).join(', ');
      };
    }
  }
  const { keySize, valueBytes } = map;
  return {
    bucketName,
    groupName,
    read(keys, values, n) {
      const byGroup = new Map<string, Map<number, number>>();
      for (let i = 0; i < n; i++) {
        const g = group ? group(keys, i * keySize) : '';
        let counts = byGroup.get(g);
        if (!counts) byGroup.set(g, (counts = new Map()));
        const b = bucket(keys, i * keySize);
        counts.set(b, (counts.get(b) ?? 0) + count(values, i * valueBytes));
      }
      return [...byGroup].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([g, counts]) => ({ group: g, counts }));
    },
  };
}

/** The range of a bucket: log2 slot i holds 2^(i-1) .. 2^i - 1 (slot 0 holds 0), as bpf_log2l fills them. */
export function bucketRange(scale: Scale, i: number): [bigint, bigint] {
  if (scale.kind === 'linear') {
    const lo = BigInt(scale.min) + BigInt(i) * BigInt(scale.step);
    return [lo, lo + BigInt(scale.step) - 1n];
  }
  if (i <= 0) return [0n, 0n];
  return [1n << BigInt(i - 1), (1n << BigInt(i)) - 1n];
}

/**
 * The bars of one histogram, bcc's print_log2_hist look: `lo -> hi : count |****   |`, from the
 * first bucket with a count to the last, the bar as wide as fits in columns (at most 40 stars).
 */
export function histLines(h: Histogram, scale: Scale, label: string, columns: number): string[] {
  const present = [...h.counts.keys()].filter((k) => (h.counts.get(k) ?? 0) !== 0);
  if (present.length === 0) return [`${label.padStart(10)} : count  (no counts)`];
  const first = Math.min(...present);
  const last = Math.max(...present);
  const rows: [string, string, number][] = [];
  for (let i = first; i <= last; i++) {
    const [lo, hi] = bucketRange(scale, i);
    rows.push([String(lo), String(hi), h.counts.get(i) ?? 0]);
  }
  const loW = Math.max(10, ...rows.map((r) => r[0].length));
  const hiW = Math.max(10, ...rows.map((r) => r[1].length));
  const countText = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const countW = Math.max(8, ...rows.map((r) => countText(r[2]).length));
  const head = loW + 4 + hiW + 3 + countW + 1;
  const width = Math.max(1, Math.min(40, columns - head - 3));
  const max = Math.max(...rows.map((r) => r[2]));
  const lines = [`${label.padStart(loW).padEnd(loW + 4 + hiW)} : ${'count'.padEnd(countW)} distribution`];
  for (const [lo, hi, n] of rows) {
    const stars = max > 0 && n > 0 ? Math.max(1, Math.round((n / max) * width)) : 0;
    lines.push(`${lo.padStart(loW)} -> ${hi.padEnd(hiW)} : ${countText(n).padEnd(countW)} |${'*'.repeat(stars).padEnd(width)}|`);
  }
  return lines;
}

/** Every group's bars, each under its group line. */
export function histogramsText(hs: Histogram[], scale: Scale, label: string, columns: number): string[] {
  const out: string[] = [];
  for (const h of hs) {
    if (h.group !== '') out.push(`${out.length > 0 ? '\n' : ''}${h.group}`);
    out.push(...histLines(h, scale, label, columns));
  }
  return out;
}

/** Counts this read minus the last one's, bucket by bucket (a bucket that went away counts as 0). */
export function deltas(now: Histogram[], before: Histogram[] | undefined): Histogram[] {
  if (!before) return now;
  const prev = new Map(before.map((h) => [h.group, h.counts]));
  return now.map((h) => {
    const p = prev.get(h.group);
    const counts = new Map<number, number>();
    for (const [b, n] of h.counts) counts.set(b, n - (p?.get(b) ?? 0));
    return { group: h.group, counts };
  });
}

export function scaleOf(o: HistOptions): Scale {
  if (o.linear === undefined) {
    if (o.min !== undefined) throw new UsageError('--min is the first bucket of a --linear histogram');
    return { kind: 'log2' };
  }
  const min = o.min === undefined ? 0 : Number(o.min);
  if (!Number.isSafeInteger(min)) throw new UsageError(`--min must be an integer, got "${o.min}"`);
  return { kind: 'linear', step: o.linear, min };
}

/** Adds the histogram options to hist and watch. */
export function withHistOptions(c: Command): Command {
  return c
    .option(
      '--bucket <field>',
      "the key field holding the bucket index: a field of the key's BTF (default: the key itself, or a field named slot/bucket/idx/index), or u8|u16|u32|u64@OFFSET",
    )
    .option('--group <field>', "one histogram per value of this key field (default: the key's fields other than the bucket)")
    .option('--linear <step>', 'linear buckets of this width (default: log2 buckets, as bpf_log2l fills them)', integer(1))
    .option('--min <n>', 'with --linear: the low end of bucket 0', undefined)
    .option('--label <text>', 'what the buckets count (the header of the first column)');
}
