import { UsageError } from './errors.js';
import type { EntryView } from './view.js';
import { hexLines } from './hex-lines.js';

export type Format = 'table' | 'json' | 'ndjson' | 'csv';
export const FORMATS: readonly Format[] = ['table', 'json', 'ndjson', 'csv'];

/** --format, defaulting to a table on a terminal and ndjson when piped. */
export function formatOf(given: string | undefined, tty: boolean): Format {
  if (given === undefined) return tty ? 'table' : 'ndjson';
  if (!(FORMATS as readonly string[]).includes(given)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${given}"`);
  return given as Format;
}

/** Turns runs of packed entries into text, piece by piece: nothing but the current piece is held. */
export interface EntryWriter {
  begin(): string;
  /** The entries' text, or its bytes (UTF-8) where a writer makes them directly. */
  chunk(keys: Buffer, values: Buffer, count: number): string | Buffer;
  /**
   * The same text as chunk, and where each entry's text ends in it (a header or separator goes
   * with the entry it precedes): drain needs to know which entries a partly written output holds.
   */
  chunkWithEnds(keys: Buffer, values: Buffer, count: number): { text: string; ends: number[] };
  end(): string;
}

type Entries = (keys: Buffer, values: Buffer, count: number) => string[];

/** A writer whose chunk is the texts of its entries joined. */
function joined(begin: () => string, entries: Entries, end: () => string): EntryWriter {
  return {
    begin,
    chunk: (k, v, n) => entries(k, v, n).join(''),
    chunkWithEnds: (k, v, n) => {
      const texts = entries(k, v, n);
      let at = 0;
      return { text: texts.join(''), ends: texts.map((t) => (at += t.length)) };
    },
    end,
  };
}

/** A cell: column name, text, and whether it holds a number (right-aligned in tables). */
type Cell = [string, string, boolean];

/** Cells of one entry: nested values flattened to dotted/indexed column names. */
function flatten(v: unknown, name: string, out: Cell[]): void {
  if (Array.isArray(v)) v.forEach((x, i) => flatten(x, `${name}[${i}]`, out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(x, `${name}.${k}`, out);
  else out.push([name, v === null || v === undefined ? '' : String(v), typeof v === 'number']);
}

function cells(view: EntryView, keys: Buffer, ko: number, values: Buffer, vo: number): Cell[] {
  const out: Cell[] = [];
  flatten(view.key(keys, ko), 'key', out);
  flatten(view.value(values, vo), view.valueField, out);
  return out;
}

function jsonLines(view: EntryView, keySize: number, valueBytes: number, keys: Buffer, values: Buffer, count: number, sep: string): string[] {
  const field = `,"${view.valueField}":`;
  const lines = new Array<string>(count);
  for (let i = 0; i < count; i++)
    lines[i] = `{"key":${view.keyText(keys, i * keySize)}${field}${view.valueText(values, i * valueBytes)}}${sep}`;
  return lines;
}

function ndjsonWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  const lines = (k: Buffer, v: Buffer, n: number): string[] => jsonLines(view, ks, vs, k, v, n, '\n');
  if (!view.plainHex) return joined(() => '', lines, () => '');
  return {
    begin: () => '',
    chunk: (k, v, n) => hexLines(k, v, n, ks, vs),
    chunkWithEnds: (k, v, n) => {
      const text = hexLines(k, v, n, ks, vs).toString('latin1');
      const size = text.length / Math.max(n, 1);
      return { text, ends: Array.from({ length: n }, (_, i) => (i + 1) * size) };
    },
    end: () => '',
  };
}

/** A JSON array with one entry per line, so line tools still work on it. */
function jsonWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let first = true;
  return joined(
    () => '[',
    (k, v, n) => {
      const lines = jsonLines(view, ks, vs, k, v, n, '');
      for (let i = 0; i < n; i++) {
        lines[i] = (first ? '\n' : ',\n') + lines[i];
        first = false;
      }
      return lines;
    },
    () => (first ? ']\n' : '\n]\n'),
  );
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let columns: string[] | undefined;
  return joined(
    () => '',
    (k, v, n) => {
      const texts = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const row = cells(view, k, i * ks, v, i * vs);
        let text = '';
        if (!columns) {
          columns = row.map(([c]) => c);
          text = columns.map(csvCell).join(',') + '\n';
        }
        const byName = new Map(row.map(([c, v]) => [c, v]));
        texts[i] = text + columns.map((c) => csvCell(byName.get(c) ?? '')).join(',') + '\n';
      }
      return texts;
    },
    () => '',
  );
}

/** Aligned columns; widths come from the first piece, since a streamed table cannot look ahead. */
function tableWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let columns: string[] | undefined;
  let widths: number[] = [];
  let numeric: boolean[] = [];
  const line = (row: string[]): string =>
    row.map((c, i) => (i === row.length - 1 && !numeric[i] ? c : numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n';
  return joined(
    () => '',
    (k, v, n) => {
      const rows: string[][] = [];
      const isNumber: boolean[][] = [];
      for (let i = 0; i < n; i++) {
        const row = cells(view, k, i * ks, v, i * vs);
        if (!columns) columns = row.map(([c]) => c);
        const byName = new Map(row.map((c) => [c[0], c]));
        rows.push(columns.map((c) => byName.get(c)?.[1] ?? ''));
        isNumber.push(columns.map((c) => byName.get(c)?.[2] ?? false));
      }
      let text = '';
      if (columns && widths.length === 0 && rows.length > 0) {
        const cols = columns;
        widths = cols.map((c, j) => Math.max(c.length, ...rows.map((r) => (r[j] as string).length)));
        numeric = cols.map((_, j) => isNumber.every((r) => r[j]));
        text += line(cols) + line(widths.map((w) => '-'.repeat(w)));
      }
      const texts = rows.map(line);
      if (texts.length > 0) texts[0] = text + texts[0];
      return texts;
    },
    () => '',
  );
}

export function entryWriter(format: Format, view: EntryView, keySize: number, valueBytes: number): EntryWriter {
  switch (format) {
    case 'ndjson':
      return ndjsonWriter(view, keySize, valueBytes);
    case 'json':
      return jsonWriter(view, keySize, valueBytes);
    case 'csv':
      return csvWriter(view, keySize, valueBytes);
    case 'table':
      return tableWriter(view, keySize, valueBytes);
  }
}
