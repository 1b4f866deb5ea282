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
  chunk(keys: Buffer, values: Buffer, count: number): string;
  end(): string;
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
  return {
    begin: () => '',
    chunk: view.plainHex ? (k, v, n) => hexLines(k, v, n, ks, vs) : (k, v, n) => jsonLines(view, ks, vs, k, v, n, '\n').join(''),
    end: () => '',
  };
}

/** A JSON array with one entry per line, so line tools still work on it. */
function jsonWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let first = true;
  return {
    begin: () => '[',
    chunk: (k, v, n) => {
      if (n === 0) return '';
      const text = (first ? '\n' : ',\n') + jsonLines(view, ks, vs, k, v, n, '').join(',\n');
      first = false;
      return text;
    },
    end: () => (first ? ']\n' : '\n]\n'),
  };
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let columns: string[] | undefined;
  return {
    begin: () => '',
    chunk: (k, v, n) => {
      let text = '';
      for (let i = 0; i < n; i++) {
        const row = cells(view, k, i * ks, v, i * vs);
        if (!columns) {
          columns = row.map(([c]) => c);
          text += columns.map(csvCell).join(',') + '\n';
        }
        const byName = new Map(row.map(([c, v]) => [c, v]));
        text += columns.map((c) => csvCell(byName.get(c) ?? '')).join(',') + '\n';
      }
      return text;
    },
    end: () => '',
  };
}

/** Aligned columns; widths come from the first piece, since a streamed table cannot look ahead. */
function tableWriter(view: EntryView, ks: number, vs: number): EntryWriter {
  let columns: string[] | undefined;
  let widths: number[] = [];
  let numeric: boolean[] = [];
  const line = (row: string[]): string =>
    row.map((c, i) => (i === row.length - 1 && !numeric[i] ? c : numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd() + '\n';
  return {
    begin: () => '',
    chunk: (k, v, n) => {
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
      return text + rows.map(line).join('');
    },
    end: () => '',
  };
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
