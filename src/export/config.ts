import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { toMapSelector, type MapSelector } from '../map/selector.js';

export const DECODERS = ['integer', 'hex', 'ipv4', 'ipv6', 'port', 'enum', 'string', 'static'] as const;
export type DecoderName = (typeof DECODERS)[number];

/** A field of a key or value: a BTF member (dotted path for nested structs) or a byte range. */
export interface FieldRef {
  field?: string;
  offset?: number;
  size?: number;
  /** Integers only; BTF says it for BTF members. */
  signed?: boolean;
  /** "file:line:col: metrics[i].labels[j]": where errors about this field point. */
  where: string;
}

export interface LabelSpec extends FieldRef {
  name: string;
  /** Undefined: chosen from the BTF type (integer, enum, string), else integer. */
  decoder?: DecoderName;
  /** enum/static: integer (decimal text) -> label value. */
  values?: ReadonlyMap<string, string>;
}

export interface ValueFieldSpec extends FieldRef {
  float?: boolean;
}

export interface BucketSpec extends FieldRef {
  type: 'log2' | 'linear';
  /** The first and last bucket keys exported (keys above max count only in +Inf). */
  min: number;
  max: number;
  /** Upper bound of bucket key k: multiplier * 2^k (log2) or multiplier * k (linear). */
  multiplier: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type PerCpuMode = 'sum' | 'cpu';

/** One metric of an exporter configuration: the map it reads, its labels and its value. */
export interface MetricSpec {
  name: string;
  help: string;
  type: MetricType;
  map: MapSelector;
  labels: LabelSpec[];
  /** Undefined: the whole value, an unsigned integer of 1, 2, 4 or 8 bytes. */
  value?: ValueFieldSpec;
  bucket?: BucketSpec;
  percpu: PerCpuMode;
  /** Series kept per scrape: the top maxSeries by value (histograms: by count). */
  maxSeries: number;
  where: string;
}

/** An exporter configuration, as parseConfig reads it from YAML. */
export interface ExportConfig {
  metrics: MetricSpec[];
  /** Entries per LOOKUP_BATCH. */
  batchSize: number;
}

export const DEFAULT_MAX_SERIES = 10_000;
export const DEFAULT_BATCH_SIZE = 4096;
const MAX_REPORTED = 20;

/** A config that does not parse or validate: every problem, each pointing at its line and field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];

  constructor(problems: string[]) {
    const shown = problems.slice(0, MAX_REPORTED);
    const more = problems.length - shown.length;
    super(`invalid config:\n  ${shown.join('\n  ')}${more > 0 ? `\n  ... and ${more} more` : ''}`);
    this.problems = problems;
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** How the exporter finds a map: like the CLI, `id N`, `pinned PATH` or `name NAME`. */
export function parseSelectorText(text: string): MapSelector | string {
  const m = /^\s*(\S+)\s+(\S.*?)\s*$/.exec(text);
  const s = m ? toMapSelector(m[1] as string, m[2] as string) : 'kind';
  if (s === 'kind') return `expected "id N", "pinned PATH" or "name NAME", got "${text}"`;
  if (s === 'id') return `a map id is a positive integer, got "${(m as RegExpExecArray)[2] as string}"`;
  return s;
}

/** Walks the YAML nodes, collecting problems with their positions instead of stopping at the first. */
class Checker {
  readonly problems: string[] = [];

  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  at(node: YamlNode | Pair | null | undefined, path: string): string {
    const range = node && 'range' in node ? node.range : node && 'key' in node ? (node.key as YamlNode | null)?.range : undefined;
    const pos = range ? this.lines.linePos(range[0]) : undefined;
    return `${this.file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${path}`;
  }

  fail(node: YamlNode | Pair | null | undefined, path: string, msg: string): undefined {
    this.problems.push(`${this.at(node, path)}: ${msg}`);
    return undefined;
  }

  /** The pairs of a mapping node, with unknown keys reported. */
  object(node: YamlNode | null | undefined, path: string, known: readonly string[]): Map<string, YamlNode | null> | undefined {
    if (!isMap(node)) return this.fail(node, path, 'expected a mapping (key: value lines, or a JSON object)');
    const out = new Map<string, YamlNode | null>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        this.fail(pair.key as YamlNode, path, 'keys must be plain names');
        continue;
      }
      if (!known.includes(key)) this.fail(pair.key as YamlNode, `${path}.${key}`, `unknown field (expected one of: ${known.join(', ')})`);
      else out.set(key, pair.value as YamlNode | null);
    }
    return out;
  }

  /** Reports the keys a mapping lacks, at the mapping; true when none is missing. */
  required(fields: Map<string, YamlNode | null>, node: YamlNode | null | undefined, path: string, keys: readonly string[]): boolean {
    let ok = true;
    for (const k of keys) if (!fields.has(k)) ok = !!this.fail(node, `${path}.${k}`, 'missing');
    return ok;
  }

  string(node: YamlNode | null | undefined, path: string): string | undefined {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') return this.fail(node, path, 'expected a non-empty string');
    return node.value;
  }

  number(node: YamlNode | null | undefined, path: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(node, path, `expected a${opts.integer ? 'n integer' : ' number'}`);
    if (opts.integer && !Number.isSafeInteger(v)) return this.fail(node, path, `expected an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) return this.fail(node, path, `must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) return this.fail(node, path, `must be at most ${opts.max}, got ${v}`);
    return v;
  }

  boolean(node: YamlNode | null | undefined, path: string): boolean | undefined {
    if (!isScalar(node) || typeof node.value !== 'boolean') return this.fail(node, path, 'expected true or false');
    return node.value;
  }

  oneOf<T extends string>(node: YamlNode | null | undefined, path: string, choices: readonly T[]): T | undefined {
    const s = isScalar(node) ? node.value : undefined;
    if (typeof s !== 'string' || !(choices as readonly string[]).includes(s))
      return this.fail(node, path, `expected one of ${choices.join(', ')}, got ${isScalar(node) ? JSON.stringify(node.value) : 'a non-scalar'}`);
    return s as T;
  }
}

const FIELD_KEYS = ['field', 'offset', 'size', 'signed'] as const;

function fieldRef(c: Checker, node: YamlNode | null | undefined, fields: Map<string, YamlNode | null>, path: string, defaultSize?: number): FieldRef | undefined {
  const where = c.at(node, path);
  const ref: FieldRef = { where };
  const field = fields.get('field');
  const offset = fields.get('offset');
  const size = fields.get('size');
  if (fields.has('field')) {
    if (fields.has('offset')) return c.fail(offset, `${path}.offset`, 'give either field (a BTF member) or offset and size, not both');
    const f = c.string(field, `${path}.field`);
    if (f === undefined) return undefined;
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(f))
      return c.fail(field, `${path}.field`, `expected a member name (a.b for nested members), got "${f}"`);
    ref.field = f;
  } else if (fields.has('offset')) {
    const o = c.number(offset, `${path}.offset`, { integer: true, min: 0 });
    if (o === undefined) return undefined;
    ref.offset = o;
  } else return c.fail(node, path, 'needs field (a BTF member name) or offset (bytes from the start)');
  if (fields.has('size')) {
    const s = c.number(size, `${path}.size`, { integer: true, min: 1, max: 4096 });
    if (s === undefined) return undefined;
    ref.size = s;
  } else if (ref.offset !== undefined) {
    if (defaultSize === undefined) return c.fail(node, path, 'needs size (bytes) with offset');
    ref.size = defaultSize;
  }
  if (fields.has('signed')) {
    const s = c.boolean(fields.get('signed'), `${path}.signed`);
    if (s === undefined) return undefined;
    ref.signed = s;
  }
  return ref;
}

const DECODER_SIZES: Partial<Record<DecoderName, number>> = { ipv4: 4, ipv6: 16, port: 2 };

function valueMapping(c: Checker, node: YamlNode | null | undefined, path: string): Map<string, string> | undefined {
  if (!isMap(node)) return c.fail(node, path, 'expected a mapping of integers to label values, e.g. {6: tcp, 17: udp}');
  const out = new Map<string, string>();
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? pair.key.value : undefined;
    const key = typeof k === 'number' && Number.isSafeInteger(k) ? String(k) : typeof k === 'string' && /^-?[0-9]+$/.test(k) ? BigInt(k).toString() : undefined;
    if (key === undefined) {
      c.fail(pair.key as YamlNode, path, `keys must be integers, got ${JSON.stringify(k)}`);
      continue;
    }
    const v = isScalar(pair.value) ? pair.value.value : undefined;
    if (typeof v !== 'string' && typeof v !== 'number') {
      c.fail(pair.value as YamlNode, `${path}.${key}`, 'expected a label value (text)');
      continue;
    }
    out.set(key, String(v));
  }
  return out;
}

function label(c: Checker, node: YamlNode | null | undefined, path: string): LabelSpec | undefined {
  const f = c.object(node, path, ['name', 'decoder', 'values', ...FIELD_KEYS]);
  if (!f || !c.required(f, node, path, ['name'])) return undefined;
  const name = c.string(f.get('name'), `${path}.name`);
  if (name !== undefined && (!LABEL_NAME.test(name) || name.startsWith('__')))
    c.fail(f.get('name'), `${path}.name`, `"${name}" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`);
  let decoder: DecoderName | undefined;
  if (f.has('decoder')) decoder = c.oneOf(f.get('decoder'), `${path}.decoder`, DECODERS);
  let values: Map<string, string> | undefined;
  if (f.has('values')) {
    if (decoder !== 'enum' && decoder !== 'static') c.fail(f.get('values'), `${path}.values`, 'values is for the enum and static decoders');
    else values = valueMapping(c, f.get('values'), `${path}.values`);
  } else if (decoder === 'static') c.fail(node, path, 'the static decoder needs values: {integer: label value, ...}');
  const ref = fieldRef(c, node, f, path, decoder ? DECODER_SIZES[decoder] : undefined);
  if (!ref || name === undefined) return undefined;
  const want = decoder ? DECODER_SIZES[decoder] : undefined;
  if (want !== undefined && ref.size !== undefined && ref.size !== want)
    return c.fail(f.get('size'), `${path}.size`, `the ${decoder} decoder reads ${want} bytes, got size ${ref.size}`);
  const spec: LabelSpec = { ...ref, name };
  if (decoder) spec.decoder = decoder;
  if (values) spec.values = values;
  return spec;
}

function bucket(c: Checker, node: YamlNode | null | undefined, path: string): BucketSpec | undefined {
  const f = c.object(node, path, ['type', 'min', 'max', 'multiplier', ...FIELD_KEYS]);
  if (!f || !c.required(f, node, path, ['type', 'max'])) return undefined;
  const type = c.oneOf(f.get('type'), `${path}.type`, ['log2', 'linear'] as const);
  const min = f.has('min') ? c.number(f.get('min'), `${path}.min`, { integer: true, min: 0 }) : 0;
  const max = c.number(f.get('max'), `${path}.max`, { integer: true, min: 0, max: type === 'log2' ? 1023 : 100_000 });
  const multiplier = f.has('multiplier') ? c.number(f.get('multiplier'), `${path}.multiplier`) : 1;
  if (multiplier !== undefined && multiplier <= 0) c.fail(f.get('multiplier'), `${path}.multiplier`, 'must be positive');
  const ref = fieldRef(c, node, f, path);
  if (!ref || type === undefined || min === undefined || max === undefined || multiplier === undefined || multiplier <= 0) return undefined;
  if (max < min) return c.fail(f.get('max'), `${path}.max`, `must be at least min (${min})`);
  return { ...ref, type, min, max, multiplier };
}

function metric(c: Checker, node: YamlNode | null | undefined, path: string, names: Map<string, string>): MetricSpec | undefined {
  const f = c.object(node, path, ['name', 'help', 'type', 'map', 'labels', 'value', 'bucket', 'percpu', 'max_series']);
  if (!f || !c.required(f, node, path, ['name', 'help', 'type', 'map'])) return undefined;
  const name = c.string(f.get('name'), `${path}.name`);
  const help = c.string(f.get('help'), `${path}.help`);
  const type = c.oneOf(f.get('type'), `${path}.type`, ['counter', 'gauge', 'histogram'] as const);
  if (name !== undefined) {
    if (!METRIC_NAME.test(name)) c.fail(f.get('name'), `${path}.name`, `"${name}" is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    else if (name.startsWith('bpfmap_export_')) c.fail(f.get('name'), `${path}.name`, 'names starting with bpfmap_export_ are the exporter\'s own');
    else if (type === 'counter' && !name.endsWith('_total')) c.fail(f.get('name'), `${path}.name`, `a counter's name ends in _total (e.g. ${name}_total)`);
    else if (type !== 'counter' && /_(total|bucket|count|sum)$/.test(name))
      c.fail(f.get('name'), `${path}.name`, `a ${type}'s name must not end in _total, _bucket, _count or _sum`);
    const prev = names.get(name);
    if (prev !== undefined) c.fail(f.get('name'), `${path}.name`, `"${name}" is already the name of ${prev}`);
    names.set(name, path);
  }
  let map: MapSelector | undefined;
  const mapText = c.string(f.get('map'), `${path}.map`);
  if (mapText !== undefined) {
    const s = parseSelectorText(mapText);
    if (typeof s === 'string') c.fail(f.get('map'), `${path}.map`, s);
    else map = s;
  }
  const labels: LabelSpec[] = [];
  let labelsOk = true;
  if (f.has('labels')) {
    const seq = f.get('labels');
    if (!isSeq(seq)) labelsOk = !!c.fail(seq, `${path}.labels`, 'expected a list of labels');
    else {
      const seen = new Set<string>();
      seq.items.forEach((item, i) => {
        const l = label(c, item as YamlNode, `${path}.labels[${i}]`);
        if (!l) return void (labelsOk = false);
        if (seen.has(l.name)) labelsOk = !!c.fail(item as YamlNode, `${path}.labels[${i}].name`, `label "${l.name}" appears twice`);
        seen.add(l.name);
        labels.push(l);
      });
    }
  }
  let value: ValueFieldSpec | undefined;
  let valueOk = true;
  if (f.has('value')) {
    if (type === 'histogram') valueOk = !!c.fail(f.get('value'), `${path}.value`, 'a histogram counts with the whole value; leave value out');
    else {
      const vf = c.object(f.get('value'), `${path}.value`, [...FIELD_KEYS, 'float']);
      const ref = vf && fieldRef(c, f.get('value'), vf, `${path}.value`);
      if (!ref || !vf) valueOk = false;
      else {
        value = ref;
        if (vf.has('float')) {
          const fl = c.boolean(vf.get('float'), `${path}.value.float`);
          if (fl === undefined) valueOk = false;
          else value.float = fl;
        }
        if (value.size !== undefined && ![1, 2, 4, 8].includes(value.size))
          valueOk = !!c.fail(vf.get('size'), `${path}.value.size`, `a value is an integer of 1, 2, 4 or 8 bytes (or a float of 4 or 8), got ${value.size}`);
        else if (value.float && value.size !== undefined && value.size !== 4 && value.size !== 8)
          valueOk = !!c.fail(vf.get('size'), `${path}.value.size`, 'a float is 4 or 8 bytes');
      }
    }
  }
  let b: BucketSpec | undefined;
  let bucketOk = true;
  if (type === 'histogram') {
    if (!f.has('bucket')) bucketOk = !!c.fail(node, path, 'a histogram needs bucket: {field or offset/size of the bucket key, type: log2|linear, max}');
    else bucketOk = (b = bucket(c, f.get('bucket'), `${path}.bucket`)) !== undefined;
  } else if (f.has('bucket')) bucketOk = !!c.fail(f.get('bucket'), `${path}.bucket`, 'bucket is for histograms');
  const percpu = f.has('percpu') ? c.oneOf(f.get('percpu'), `${path}.percpu`, ['sum', 'cpu'] as const) : 'sum';
  for (const l of labels) {
    if (l.name === 'le' && type === 'histogram') c.fail(node, `${path}.labels`, 'label "le" is the histogram\'s own');
    if (l.name === 'cpu' && percpu === 'cpu') c.fail(node, `${path}.labels`, 'label "cpu" is added by percpu: cpu');
  }
  const maxSeries = f.has('max_series') ? c.number(f.get('max_series'), `${path}.max_series`, { integer: true, min: 1 }) : DEFAULT_MAX_SERIES;
  if (name === undefined || help === undefined || type === undefined || map === undefined || !labelsOk || !valueOk || !bucketOk ||
    percpu === undefined || maxSeries === undefined) return undefined;
  const spec: MetricSpec = { name, help, type, map, labels, percpu, maxSeries, where: c.at(node, path) };
  if (value) spec.value = value;
  if (b) spec.bucket = b;
  return spec;
}

/**
 * Parses and validates a config (YAML, or JSON, which is YAML too). Throws ConfigError listing
 * every problem as `file:line:col: path.to.field: what is wrong`.
 */
export function parseConfig(text: string, file = 'config'): ExportConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const c = new Checker(file, lines);
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    }));
  }
  const root = c.object(doc.contents as YamlNode | null, '(top)', ['metrics', 'batch_size']);
  if (!root) throw new ConfigError(c.problems);
  const batchSize = root.has('batch_size') ? c.number(root.get('batch_size'), 'batch_size', { integer: true, min: 1, max: 1 << 20 }) : DEFAULT_BATCH_SIZE;
  const metrics: MetricSpec[] = [];
  const seq = root.get('metrics');
  if (!root.has('metrics')) c.fail(doc.contents as YamlNode, 'metrics', 'missing: the list of metrics to export');
  else if (!isSeq(seq) || seq.items.length === 0) c.fail(seq, 'metrics', 'expected a non-empty list of metrics');
  else {
    const names = new Map<string, string>();
    seq.items.forEach((item, i) => {
      const m = metric(c, item as YamlNode, `metrics[${i}]`, names);
      if (m) metrics.push(m);
    });
  }
  if (c.problems.length > 0 || batchSize === undefined) throw new ConfigError(c.problems);
  return { metrics, batchSize };
}
