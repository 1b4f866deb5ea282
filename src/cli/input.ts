import { createReadStream } from 'node:fs';
import { Growable } from '../map/dump.js';
import { UsageError } from './errors.js';
import type { CliInput } from './io.js';
import type { EntryView } from './view.js';

/** One entry of load input and where it was, for errors ("line 7", "entry 12"). */
export interface InputEntry {
  where: string;
  json: unknown;
}

/** Bad load input: says where, what is wrong, and that nothing was written. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** The input a command reads entries from: --file, or stdin unless it is a terminal; read as bytes. */
export function inputStream(file: string | undefined, command: string, stdin: CliInput): NodeJS.ReadableStream {
  if (file !== undefined && file !== '-') return createReadStream(file);
  if (stdin.isTTY) throw new UsageError(`${command} reads entries (as dump prints them) from stdin or --file, and stdin is a terminal`);
  return stdin;
}

/**
 * The longest input line for a map: 1 MiB, or 64 bytes of text per byte of key and value when
 * that is more. Hex takes 2 per byte; JSON from BTF spends more on numbers, field names and
 * nesting, and per-CPU values one string per CPU. A longer line is not an entry (`--file
 * /dev/zero` is one endless line), and is refused when it gets this long, not held whole.
 */
export function maxLineFor(keySize: number, valueBytes: number): number {
  return Math.max(1 << 20, 64 * (keySize + valueBytes));
}

/** A JSON array is parsed whole, so its size is capped; larger inputs go one entry per line. */
export const MAX_ARRAY_BYTES = 256 << 20;

function mib(n: number): string {
  return n % (1 << 20) === 0 ? `${n >> 20} MiB` : `${n} bytes`;
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${where}: bad JSON: ${(e as Error).message}`);
  }
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The entries of dump's output: ndjson, read line by line, or one JSON array (read whole, up to
 * MAX_ARRAY_BYTES: for larger maps, use ndjson). Lines are split as the bytes come, each byte
 * looked at once, and a line longer than maxLine is an error naming it.
 */
export async function* readEntries(stream: NodeJS.ReadableStream, maxLine: number): AsyncGenerator<InputEntry, void, void> {
  let mode: 'unknown' | 'lines' | 'array' = 'unknown';
  // The current line's bytes from earlier pieces, or the whole array.
  let parts: Buffer[] = [];
  let size = 0;
  let line = 0;
  const tooLong = (): InputError =>
    new InputError(`line ${line + 1}: longer than ${mib(maxLine)}, the longest line an entry of this map can need (is the input what dump prints?)`);
  for await (const piece of stream) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
    if (mode === 'unknown') {
      let i = 0;
      while (i < chunk.length && SPACE.has(chunk[i] as number)) i++;
      if (i < chunk.length) {
        mode = chunk[i] === 0x5b ? 'array' : 'lines';
        if (mode === 'array') chunk = chunk.subarray(i);
      }
    }
    if (mode === 'array') {
      size += chunk.length;
      if (size > MAX_ARRAY_BYTES)
        throw new InputError(`input: a JSON array larger than ${mib(MAX_ARRAY_BYTES)}; give the entries one per line instead (ndjson, as dump prints them when piped)`);
      parts.push(chunk);
      continue;
    }
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      if (size + nl - from > maxLine) throw tooLong();
      const bytes = size === 0 ? chunk.subarray(from, nl) : Buffer.concat([...parts, chunk.subarray(from, nl)]);
      parts = [];
      size = 0;
      from = nl + 1;
      line++;
      const text = bytes.toString('utf8');
      if (text.trim() !== '') yield { where: `line ${line}`, json: parse(text, `line ${line}`) };
    }
    if (from < chunk.length) {
      size += chunk.length - from;
      if (size > maxLine) throw tooLong();
      parts.push(chunk.subarray(from));
    }
  }
  if (mode === 'array') {
    const all = parse(Buffer.concat(parts).toString('utf8'), 'input');
    if (!Array.isArray(all)) throw new InputError('input: expected a JSON array of entries or one entry per line');
    for (let i = 0; i < all.length; i++) yield { where: `entry ${i + 1}`, json: all[i] };
    return;
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (text.trim() !== '') {
    line++;
    yield { where: `line ${line}`, json: parse(text, `line ${line}`) };
  }
}

const FIELDS = new Set(['key', 'value', 'values']);

/** Checks one entry's fields: an object with "key" and exactly one of "value"/"values" (when values are wanted). */
function fieldsOf(e: InputEntry, wantValue: boolean): { key: unknown; field: 'value' | 'values' | undefined; value: unknown } {
  const j = e.json;
  if (j === null || typeof j !== 'object' || Array.isArray(j))
    throw new InputError(`${e.where}: an entry must be an object like {"key": ..., "value": ...}, got ${Array.isArray(j) ? 'an array' : JSON.stringify(j)}`);
  const o = j as Record<string, unknown>;
  for (const f of Object.keys(o))
    if (!FIELDS.has(f)) throw new InputError(`${e.where}: unknown field "${f}" (an entry has "key" and "value", or "values" on per-CPU maps)`);
  if (!('key' in o)) throw new InputError(`${e.where}: the entry has no "key"`);
  const hasValue = 'value' in o;
  const hasValues = 'values' in o;
  if (hasValue && hasValues) throw new InputError(`${e.where}: give "value" or "values", not both`);
  if (wantValue && !hasValue && !hasValues) throw new InputError(`${e.where}: the entry has no "value"`);
  const field = hasValue ? 'value' : hasValues ? 'values' : undefined;
  return { key: o.key, field, value: field ? o[field] : undefined };
}

/** Packed keys (and values) of every entry in the input, checked whole before anything is written. */
export async function packEntries(entries: AsyncIterable<InputEntry>, view: EntryView, keySize: number, valueBytes: number,
  wantValues: boolean): Promise<{ keys: Buffer; values: Buffer; count: number }> {
  const out = new Growable(keySize, wantValues ? valueBytes : 0, 1024);
  for await (const e of entries) {
    const f = fieldsOf(e, wantValues);
    out.reserve(1);
    try {
      view.parseKey(f.key, out.keys, out.n * keySize);
      if (wantValues) view.parseValue(f.value, f.field as 'value' | 'values', out.values, out.n * valueBytes);
    } catch (err) {
      throw new InputError(`${e.where}: ${(err as Error).message}`);
    }
    out.n++;
  }
  return { keys: out.keys.subarray(0, out.n * keySize), values: out.values.subarray(0, wantValues ? out.n * valueBytes : 0), count: out.n };
}
