import type { FieldRef, MetricSpec } from './config.js';
import { labelDecoder, valueReader, type LabelDecoder, type ValueReader } from './decoders.js';
import { formatNumber, type Family, type HistogramSeries } from './exposition.js';

/** A member of a key or value type, as BTF describes it. */
export interface ResolvedField {
  offset: number;
  size: number;
  signed: boolean;
  kind: 'int' | 'enum' | 'chars' | 'float' | 'other';
  /** Enums: value (decimal text) -> enumerator name. */
  values?: ReadonlyMap<string, string>;
  /** The decoder the BTF makes unambiguous (a __be32 address, a __be16 port): the label's default. */
  display?: 'ipv4' | 'ipv6' | 'port';
}

/** Finds members by name in a map's BTF; a string says why it cannot. '' is the whole type. */
export interface FieldResolver {
  key(path: string): ResolvedField | string;
  value(path: string): ResolvedField | string;
}

/** What binding needs to know of the map a metric reads. */
export interface MapLayout {
  keySize: number;
  valueSize: number;
  /** Bytes of one value in a batch buffer (per-CPU: round_up(valueSize, 8) * cpus). */
  valueBytes: number;
  perCpu: boolean;
  cpus: number;
  /** For messages: `id 42 "flows"`. */
  label: string;
  /** The map's BTF, when it has some. */
  fields?: FieldResolver;
  /** Reads return each key at most once (batch lookups do; the per-element walk may repeat keys). */
  uniqueKeys?: boolean;
}

/** The config does not fit the map it reads (a field outside the key, a name BTF does not know). */
export class BindError extends Error {
  override readonly name = 'BindError';
}

function resolve(ref: FieldRef, side: 'key' | 'value', layout: MapLayout, what: string): ResolvedField {
  const total = side === 'key' ? layout.keySize : layout.valueSize;
  if (ref.field !== undefined) {
    if (!layout.fields) throw new BindError(`${ref.where}.field: map ${layout.label} has no BTF to find "${ref.field}" in: give offset and size instead`);
    const r = layout.fields[side](ref.field);
    if (typeof r === 'string') throw new BindError(`${ref.where}.field: ${r}`);
    if (ref.size !== undefined && ref.size !== r.size) throw new BindError(`${ref.where}.size: ${ref.size}, but BTF says ${side} member "${ref.field}" is ${r.size} bytes`);
    return ref.signed === undefined ? r : { ...r, signed: ref.signed };
  }
  const offset = ref.offset ?? 0;
  const size = ref.size ?? total;
  if (offset + size > total)
    throw new BindError(`${ref.where}: ${what} at offset ${offset}, ${size} bytes, is past the end of map ${layout.label}'s ${total}-byte ${side}`);
  return { offset, size, signed: ref.signed ?? false, kind: [1, 2, 4, 8].includes(size) ? 'int' : 'other' };
}

interface BoundLabel {
  prefix: string;
  offset: number;
  size: number;
  /** Different bytes always give different text. */
  injective: boolean;
  decode: LabelDecoder;
}

const INJECTIVE = new Set(['integer', 'hex', 'ipv4', 'ipv6', 'port']);

/**
 * True when the labels tell every key apart: injective decoders over every byte of the key.
 * Then a read that returns each key once gives each label set once, and no map of sums is needed.
 */
function distinctLabels(labels: BoundLabel[], keySize: number): boolean {
  const covered = new Uint8Array(keySize);
  for (const l of labels) {
    if (!l.injective) return false;
    covered.fill(1, l.offset, l.offset + l.size);
  }
  return covered.every((c) => c === 1);
}

function bindLabels(spec: MetricSpec, layout: MapLayout): BoundLabel[] {
  return spec.labels.map((l, i) => {
    const f = resolve(l, 'key', layout, `label "${l.name}"`);
    const decoder = l.decoder ?? f.display ?? (f.kind === 'enum' ? 'enum' : f.kind === 'chars' ? 'string' : f.kind === 'int' ? 'integer' : 'hex');
    let values = l.values;
    if (decoder === 'enum' && f.values) values = values ? new Map([...f.values, ...values]) : f.values;
    const d = labelDecoder(decoder, values ? { size: f.size, signed: f.signed, values } : { size: f.size, signed: f.signed });
    if (typeof d === 'string') throw new BindError(`${l.where}: ${d}`);
    return { prefix: `${i === 0 ? '' : ','}${l.name}="`, offset: f.offset, size: f.size, injective: INJECTIVE.has(decoder), decode: d };
  });
}

function labelsOf(labels: BoundLabel[]): (keys: Buffer, ko: number) => string {
  if (labels.length === 0) return () => '';
  if (labels.length === 1) {
    const [a] = labels as [BoundLabel];
    return (k, o) => a.prefix + a.decode(k, o + a.offset) + '"';
  }
  return (k, o) => {
    let s = '';
    for (const l of labels) s += l.prefix + l.decode(k, o + l.offset) + '"';
    return s;
  };
}

function bindValue(spec: MetricSpec, layout: MapLayout): { offset: number; read: ValueReader } {
  let f: ResolvedField;
  if (spec.value) f = resolve(spec.value, 'value', layout, 'the value');
  else {
    const whole = layout.fields?.value('');
    f = whole && typeof whole !== 'string' ? whole : { offset: 0, size: layout.valueSize, signed: false, kind: 'int' };
  }
  const read = valueReader(f.size, f.signed, spec.value?.float ?? f.kind === 'float');
  if (typeof read === 'string') throw new BindError(`${spec.value?.where ?? spec.where}: ${read}${spec.value ? '' : ': pick a field with value: {offset, size} or value: {field}'}`);
  return { offset: f.offset, read };
}

/** Keeps the top n series by weight; returns how many were dropped. */
function topN<T>(series: T[], n: number, weight: (s: T) => number): number {
  if (series.length <= n) return 0;
  const dropped = series.length - n;
  series.sort((a, b) => weight(b) - weight(a));
  series.length = n;
  return dropped;
}

/** Samples rendered per chunk: one flat string per batch-sized run of lines. */
const CHUNK_LINES = 4096;

/** A sample line: the same in the text format and OpenMetrics. */
function sampleLine(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${formatNumber(value)}\n` : `${name}{${labels}} ${formatNumber(value)}\n`;
}

/** The indexes of the n largest values (NaN last), in order. */
function largest(values: ArrayLike<number>, n: number): number[] {
  const weight = (i: number): number => {
    const v = values[i] as number;
    return Number.isNaN(v) ? -Infinity : v;
  };
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => weight(b) - weight(a)).slice(0, n);
}

function joinLines(lines: readonly string[]): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < lines.length; i += CHUNK_LINES) chunks.push(lines.slice(i, i + CHUNK_LINES).join(''));
  return chunks;
}

/** A counter or gauge family from summed label sets, of at most spec.maxSeries series (the largest). */
function summedFamily(spec: MetricSpec, sums: Map<string, number>): { family: Family; dropped: number } {
  let labels = [...sums.keys()];
  let values = [...sums.values()];
  let dropped = 0;
  if (labels.length > spec.maxSeries) {
    const keep = largest(values, spec.maxSeries);
    dropped = labels.length - keep.length;
    labels = keep.map((i) => labels[i] as string);
    values = keep.map((i) => values[i] as number);
  }
  const lines = labels.map((l, i) => sampleLine(spec.name, l, values[i] as number));
  return { family: { name: spec.name, help: spec.help, type: spec.type as 'counter' | 'gauge', samples: joinLines(lines), count: lines.length }, dropped };
}

/** Values in a Float64Array that grows: no heap number per value. */
class Values {
  data = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/**
 * Series of a metric whose label sets are all different: each batch's sample lines are rendered
 * and joined as they are read, so a large map leaves one string per batch, not one per series.
 */
function distinctSeries(spec: MetricSpec, labels: (keys: Buffer, ko: number) => string, keySize: number, valueBytes: number, vo: number,
  read: ValueReader, cpuCount: number, stride: number, cpuLabels: string[] | undefined): BoundMetric {
  const type = spec.type as 'counter' | 'gauge';
  const bare = spec.labels.length === 0 && !cpuLabels;
  const open = bare ? `${spec.name} ` : `${spec.name}{`;
  const close = bare ? '' : '} ';
  let chunks: string[] = [];
  let values = new Values();
  return {
    spec,
    add(keys, vals, count) {
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const base = open + labels(keys, i * keySize);
        const at = i * valueBytes + vo;
        if (cpuLabels) {
          for (let c = 0; c < cpuCount; c++) {
            const v = read(vals, at + c * stride);
            lines.push(`${base}${cpuLabels[c]}${close}${formatNumber(v)}\n`);
            values.push(v);
          }
        } else {
          let v = read(vals, at);
          for (let c = 1; c < cpuCount; c++) v += read(vals, at + c * stride);
          lines.push(`${base}${close}${formatNumber(v)}\n`);
          values.push(v);
        }
      }
      chunks.push(lines.join(''));
    },
    finish() {
      const n = values.length;
      let samples = chunks;
      let dropped = 0;
      if (n > spec.maxSeries) {
        // Rare: the lines of the chunks, in the order of the values, cut to the largest.
        const lines = chunks.join('').split('\n');
        const keep = largest(values.data.subarray(0, n), spec.maxSeries);
        samples = joinLines(keep.map((i) => `${lines[i] as string}\n`));
        dropped = n - keep.length;
      }
      chunks = [];
      values = new Values();
      return { family: { name: spec.name, help: spec.help, type, samples, count: n - dropped }, dropped };
    },
  };
}

/** A metric bound to one map's layout: fed every chunk of a scrape's read, then finished. */
export interface BoundMetric {
  readonly spec: MetricSpec;
  add(keys: Buffer, values: Buffer, count: number): void;
  /** The family of everything added since the last finish, and the series dropped by max_series. */
  finish(): { family: Family; dropped: number };
}

/** Compiles a metric's labels, value and buckets against a map; a BindError when they do not fit. */
export function bindMetric(spec: MetricSpec, layout: MapLayout): BoundMetric {
  const bound = bindLabels(spec, layout);
  const labels = labelsOf(bound);
  const { keySize, valueBytes, perCpu, cpus } = layout;
  const stride = perCpu ? valueBytes / cpus : 0;
  const cpuLabels = spec.percpu === 'cpu' && perCpu ? Array.from({ length: cpus }, (_, c) => `${spec.labels.length > 0 ? ',' : ''}cpu="${c}"`) : undefined;
  const cpuCount = perCpu ? cpus : 1;
  if (spec.type !== 'histogram') {
    const { offset: vo, read } = bindValue(spec, layout);
    if (layout.uniqueKeys && distinctLabels(bound, keySize)) return distinctSeries(spec, labels, keySize, valueBytes, vo, read, cpuCount, stride, cpuLabels);
    const sums = new Map<string, number>();
    return {
      spec,
      add(keys, values, count) {
        for (let i = 0; i < count; i++) {
          const base = labels(keys, i * keySize);
          const at = i * valueBytes + vo;
          if (cpuLabels) {
            for (let c = 0; c < cpuCount; c++) {
              const l = base + cpuLabels[c];
              sums.set(l, (sums.get(l) ?? 0) + read(values, at + c * stride));
            }
          } else {
            let v = read(values, at);
            for (let c = 1; c < cpuCount; c++) v += read(values, at + c * stride);
            sums.set(base, (sums.get(base) ?? 0) + v);
          }
        }
      },
      finish() {
        const done = summedFamily(spec, sums);
        sums.clear();
        return done;
      },
    };
  }
  const b = spec.bucket as NonNullable<MetricSpec['bucket']>;
  const bf = resolve(b, 'key', layout, 'the bucket key');
  const keyRead = valueReader(bf.size, false, false);
  if (typeof keyRead === 'string') throw new BindError(`${b.where}: the bucket key is an integer: ${keyRead}`);
  const { read } = bindValue({ ...spec, value: undefined } as MetricSpec, layout);
  const nb = b.max - b.min + 1;
  const upper = (k: number): number => (b.type === 'log2' ? b.multiplier * 2 ** k : b.multiplier * k);
  const les = Array.from({ length: nb }, (_, i) => formatNumber(upper(b.min + i)));
  // Per series: the counts of keys min..max, then of keys above max, then the estimated sum.
  const hist = new Map<string, Float64Array>();
  const addCount = (l: string, key: number, n: number): void => {
    let h = hist.get(l);
    if (!h) hist.set(l, (h = new Float64Array(nb + 2)));
    const slot = key < b.min ? 0 : key > b.max ? nb : key - b.min;
    h[slot] = (h[slot] as number) + n;
    h[nb + 1] = (h[nb + 1] as number) + n * upper(key);
  };
  return {
    spec,
    add(keys, values, count) {
      for (let i = 0; i < count; i++) {
        const ko = i * keySize;
        const base = labels(keys, ko);
        const key = keyRead(keys, ko + bf.offset);
        const at = i * valueBytes;
        if (cpuLabels) for (let c = 0; c < cpuCount; c++) addCount(base + cpuLabels[c], key, read(values, at + c * stride));
        else {
          let v = read(values, at);
          for (let c = 1; c < cpuCount; c++) v += read(values, at + c * stride);
          addCount(base, key, v);
        }
      }
    },
    finish() {
      const series: HistogramSeries[] = [];
      for (const [l, h] of hist) {
        const buckets: number[] = [];
        let cum = 0;
        for (let i = 0; i < nb; i++) buckets.push((cum += h[i] as number));
        series.push({ labels: l, buckets, count: cum + (h[nb] as number), sum: h[nb + 1] as number });
      }
      hist.clear();
      const dropped = topN(series, spec.maxSeries, (s) => s.count);
      return { family: { name: spec.name, help: spec.help, type: 'histogram', les, series }, dropped };
    },
  };
}
