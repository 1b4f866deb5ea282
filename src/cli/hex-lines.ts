/** The ASCII of the 16 hex digits. */
const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const OPEN = Buffer.from('{"key":"', 'latin1');
const MIDDLE = Buffer.from('","value":"', 'latin1');
const CLOSE = Buffer.from('"}\n', 'latin1');

function put(text: Buffer, out: Buffer, at: number): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text[i] as number;
  return at + text.length;
}

function hex(src: Buffer, from: number, size: number, out: Buffer, at: number): number {
  for (let i = 0; i < size; i++) {
    const b = src[from + i] as number;
    out[at++] = DIGITS[b >> 4] as number;
    out[at++] = DIGITS[b & 15] as number;
  }
  return at;
}

/**
 * ndjson lines `{"key":"<hex>","value":"<hex>"}` of count entries packed at keySize and valueSize
 * bytes, written byte by byte into one buffer per chunk: the same text as formatting each entry
 * as strings, without a string per key and value for the collector to sweep.
 */
export function hexLines(keys: Buffer, values: Buffer, count: number, keySize: number, valueSize: number): string {
  const line = OPEN.length + 2 * keySize + MIDDLE.length + 2 * valueSize + CLOSE.length;
  const out = Buffer.allocUnsafe(count * line);
  let at = 0;
  for (let i = 0; i < count; i++) {
    at = put(OPEN, out, at);
    at = hex(keys, i * keySize, keySize, out, at);
    at = put(MIDDLE, out, at);
    at = hex(values, i * valueSize, valueSize, out, at);
    at = put(CLOSE, out, at);
  }
  return out.toString('latin1', 0, at);
}
