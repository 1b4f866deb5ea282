// The Prometheus text format (0.0.4) and OpenMetrics 1.0, written by hand: a scrape of a large map
// is one string built in a loop, with label sets already escaped when they were decoded.

/** One sample: labels as `a="x",b="y"` (escaped), and the value. */
export interface Series {
  labels: string;
  value: number;
}

export interface HistogramSeries {
  labels: string;
  /** Cumulative counts, one per upper bound of the family's les. */
  buckets: number[];
  count: number;
  sum: number;
}

export type Family =
  | { name: string; help: string; type: 'counter' | 'gauge'; series: Series[] }
  | { name: string; help: string; type: 'histogram'; les: string[]; series: HistogramSeries[] };

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
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
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

/** Writes families in the text format or OpenMetrics (counters then named without _total in TYPE and HELP). */
export function render(families: readonly Family[], format: Format): string {
  const om = format === 'openmetrics';
  let out = '';
  for (const f of families) {
    const head = om && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
    out += `# HELP ${head} ${escapeHelp(f.help)}\n# TYPE ${head} ${f.type}\n`;
    if (f.type === 'histogram') {
      for (const s of f.series) {
        for (let i = 0; i < f.les.length; i++) out += `${f.name}_bucket${withLabel(s.labels, `le="${f.les[i]}"`)} ${s.buckets[i]}\n`;
        out += `${f.name}_bucket${withLabel(s.labels, 'le="+Inf"')} ${s.count}\n`;
        const l = braces(s.labels);
        out += `${f.name}_sum${l} ${formatNumber(s.sum)}\n${f.name}_count${l} ${s.count}\n`;
      }
    } else {
      const name = f.name;
      for (const s of f.series) out += `${name}${braces(s.labels)} ${formatNumber(s.value)}\n`;
    }
  }
  return om ? `${out}# EOF\n` : out;
}
