import type { Collector } from './exporter.js';
import type { Family } from './exposition.js';

// A bridge to prom-client (an optional peer dependency): a Node service that already serves its
// metrics with prom-client adds bpfmap's to its registry. Only the shape of prom-client's objects
// is used here, so bpfmap neither loads nor needs prom-client itself.

/** One sample as prom-client takes it from a metric's get(). */
export interface PromSample {
  value: number;
  labels: Record<string, string>;
  /** The series' own name, for histograms' _bucket, _sum and _count. */
  metricName?: string;
}

/** What prom-client's registry asks of a metric. */
export interface PromMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'counter' | 'gauge' | 'histogram'; aggregator: 'sum'; values: PromSample[] }>;
  reset(): void;
}

/** The part of prom-client's Registry this bridge uses (`register`, or a `new Registry()`). */
export interface PromRegistry {
  /**
   * Takes a PromMetric. prom-client's types name only its own metric classes here, while its
   * registry takes any object of PromMetric's shape: `never` lets its Registry type be passed.
   */
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };

/** `a="x",b="y\"z"` (as the exposition escapes label values) back to names and values. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    if (eq < 0) throw new Error(`bad label set: ${text}`);
    const name = text.slice(i, eq);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        j++;
        value += ESCAPES[text[j] as string] ?? `\\${text[j] as string}`;
      } else value += text[j];
    }
    out[name] = value;
    i = text[j + 1] === ',' ? j + 2 : j + 1;
  }
  return out;
}

function parseValue(text: string): number {
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

/** The samples of a family, as prom-client's metric objects hold them. */
export function promSamples(f: Family): PromSample[] {
  const out: PromSample[] = [];
  if (f.type === 'histogram') {
    for (const s of f.series) {
      const labels = parseLabels(s.labels);
      f.les.forEach((le, i) => out.push({ metricName: `${f.name}_bucket`, labels: { ...labels, le }, value: s.buckets[i] as number }));
      out.push({ metricName: `${f.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${f.name}_sum`, labels, value: s.sum }, { metricName: `${f.name}_count`, labels, value: s.count });
    }
    return out;
  }
  for (const chunk of f.samples) {
    for (const line of chunk.split('\n')) {
      if (line === '') continue;
      const space = line.lastIndexOf(' ');
      const brace = line.indexOf('{');
      const labels = brace >= 0 && brace < space ? parseLabels(line.slice(brace + 1, line.lastIndexOf('}', space))) : {};
      // No metricName: prom-client names the series after the metric (and adds _total to counters in OpenMetrics).
      out.push({ labels, value: parseValue(line.slice(space + 1)) });
    }
  }
  return out;
}

/**
 * Adds a collector's families (an Exporter's, a MapsCollector's) to a prom-client registry, one
 * metric per family. Every scrape of the registry collects once, for all of them. The families
 * are those of a first collection made now; one that appears later is added when a scrape first
 * sees it, and served from the next. A name the registry already has (its own process_* metrics,
 * say) stays the registry's.
 */
export async function registerCollector(registry: PromRegistry, collector: Collector): Promise<void> {
  const ours = new Set<string>();
  let inflight: Promise<Map<string, Family>> | undefined;
  const learn = (families: Family[]): Map<string, Family> => {
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const f of families) {
      if (ours.has(f.name) || registry.getSingleMetric(f.name) !== undefined) continue;
      ours.add(f.name);
      registry.registerMetric(metricOf(f.name, f.help, f.type) as never);
    }
    return byName;
  };
  // The registry asks every metric at once: the first to ask starts the collection, the others share it.
  const scrape = (): Promise<Map<string, Family>> => {
    if (!inflight) {
      const p = collector.collect().then(learn);
      inflight = p;
      const done = (): void => {
        if (inflight === p) inflight = undefined;
      };
      p.then(done, done);
    }
    return inflight;
  };
  const metricOf = (name: string, help: string, type: PromMetric['type']): PromMetric => ({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => {
      const f = (await scrape()).get(name);
      return { name, help, type, aggregator: 'sum', values: f ? promSamples(f) : [] };
    },
    reset: () => {},
  });
  learn(await collector.collect());
}
