// The Prometheus text format (0.0.4) and OpenMetrics 1.0, written by hand: a scrape of a large map
// is one string built in a loop, with label sets already escaped when they were decoded.

export interface HistogramSeries {
  labels: string;
  /** Cumulative counts, one per upper bound of the family's les. */
  buckets: number[];
  count: number;
  sum: number;
}

/**
 * A metric family. Counters and gauges hold their sample lines already rendered (they are the
 * same in both formats), a run of lines per string: no object per series on a large map.
 */
export type Family =
  | { name: string; help: string; type: 'counter' | 'gauge'; samples: string[]; count: number }
  | { name: string; help: string; type: 'histogram'; les: string[]; series: HistogramSeries[] };

/**
 * A counter or gauge family from (labels, value) pairs, labels as `a="x",b="y"` (escaped): for
 * the few series of the exporter's own metrics.
 */
export function family(name: string, help: string, type: 'counter' | 'gauge', series: readonly (readonly [string, number])[]): Family {
  const samples = series.map(([l, v]) => (l === '' ? `${name} ${formatNumber(v)}\n` : `${name}{${l}} ${formatNumber(v)}\n`));
  return { name, help, type, samples, count: samples.length };
}

export type Format = 'text' | 'openmetrics';

export const CONTENT_TYPES: Record<Format, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics when the Accept header asks for it (as Prometheus does), else the text format. */
export function formatFor(accept: string | undefined): Format {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'text';
}

/** A sample value as both formats spell it. */
export function formatNumber(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  return '-Inf';
}

function escapeHelp(s: string): string {
  return s.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

function braces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

function withLabel(labels: string, extra: string): string {
  return `{${labels === '' ? '' : `${labels},`}${extra}}`;
}

/** Lines rendered between two yields of renderAsync: a few milliseconds of work. */
const PIECE_LINES = 4096;
/** Pre-rendered sample chunks (of up to 4096 lines each) passed on between two yields. */
const PIECES_PER_YIELD = 4;

/**
 * The exposition in pieces of about PIECE_LINES lines each: families in the text format or
 * OpenMetrics (counters then named without _total in TYPE and HELP). Each piece's lines are
 * joined once: a flat string, no deep rope to flatten.
 */
function* pieces(families: readonly Family[], format: Format): Generator<string, void, void> {
  const om = format === 'openmetrics';
  let out: string[] = [];
  for (const f of families) {
    const head = om && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    out.push(`# HELP ${head} ${escapeHelp(f.help)}\n# TYPE ${head} ${f.type}\n`);
    if (f.type === 'histogram') {
      for (const s of f.series) {
        for (let i = 0; i < f.les.length; i++) out.push(`${f.name}_bucket${withLabel(s.labels, `le="${f.les[i]}"`)} ${s.buckets[i]}\n`);
        out.push(`${f.name}_bucket${withLabel(s.labels, 'le="+Inf"')} ${s.count}\n`);
        const l = braces(s.labels);
        out.push(`${f.name}_sum${l} ${formatNumber(s.sum)}\n${f.name}_count${l} ${s.count}\n`);
        if (out.length >= PIECE_LINES) {
          yield out.join('');
          out = [];
        }
      }
    } else {
      for (const chunk of f.samples) {
        out.push(chunk);
        if (out.length >= PIECES_PER_YIELD) {
          yield out.join('');
          out = [];
        }
      }
    }
  }
  if (om) out.push('# EOF\n');
  yield out.join('');
}

/** The whole exposition at once. */
export function render(families: readonly Family[], format: Format): string {
  return [...pieces(families, format)].join('');
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The exposition as one Buffer, yielding to the event loop between pieces so a large one never stalls it. */
export async function renderAsync(families: readonly Family[], format: Format): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const p of pieces(families, format)) {
    parts.push(Buffer.from(p));
    await tick();
  }
  return Buffer.concat(parts);
}
