import { createReadStream } from 'node:fs';
import { Growable } from '../map/dump.js';
import { UsageError } from './errors.js';
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

/** The input a command reads entries from: --file, or stdin unless it is a terminal. */
export function inputStream(file: string | undefined, command: string): NodeJS.ReadableStream {
  if (file !== undefined && file !== '-') return createReadStream(file, { encoding: 'utf8' });
  if (process.stdin.isTTY) throw new UsageError(`${command} reads entries (as dump prints them) from stdin or --file, and stdin is a terminal`);
  process.stdin.setEncoding('utf8');
  return process.stdin;
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${where}: bad JSON: ${(e as Error).message}`);
  }
}

/**
 * The entries of dump's output: ndjson, read line by line, or one JSON array (read whole: for
 * maps too large for memory as JSON, use ndjson).
 */
export async function* readEntries(stream: NodeJS.ReadableStream): AsyncGenerator<InputEntry, void, void> {
  let rest = '';
  let line = 0;
  let array: string[] | undefined;
  let any = false;
  for await (const piece of stream) {
    const text = rest + (piece as string);
    if (array) {
      array.push(piece as string);
      continue;
    }
    if (!any && /^\s*\[/.test(text)) {
      array = [text];
      rest = '';
      continue;
    }
    const lines = text.split('\n');
    rest = lines.pop() as string;
    for (const l of lines) {
      line++;
      if (l.trim() === '') continue;
      any = true;
      yield { where: `line ${line}`, json: parse(l, `line ${line}`) };
    }
  }
  if (array) {
    const all = parse(array.join(''), 'input');
    if (!Array.isArray(all)) throw new InputError('input: expected a JSON array of entries or one entry per line');
    for (let i = 0; i < all.length; i++) yield { where: `entry ${i + 1}`, json: all[i] };
    return;
  }
  if (rest.trim() !== '') {
    line++;
    yield { where: `line ${line}`, json: parse(rest, `line ${line}`) };
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
