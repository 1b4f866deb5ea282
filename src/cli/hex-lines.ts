/** The ASCII of the 16 hex digits. */
const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const OPEN = Buffer.from('{"key":"', 'latin1');
const MIDDLE = Buffer.from('","value":"', 'latin1');
const CLOSE = Buffer.from('"}\n', 'latin1');

function hex(src: Buffer, from: number, size: number, out: Buffer, at: number): void {
  for (let i = 0; i < size; i++) {
    const b = src[from + i] as number;
    out[at++] = DIGITS[b >> 4] as number;
    out[at++] = DIGITS[b & 15] as number;
  }
}

/**
 * ndjson lines `{"key":"<hex>","value":"<hex>"}` of count entries packed at keySize and valueSize
 * bytes, written into one buffer per chunk: the same text as formatting each entry as strings,
 * without a string per key and value for the collector to sweep. The fixed text of a line is
 * written once and copied over every line by doubling (native copies); the loop writes only the
 * digits. The bytes go to the output as they are (ASCII), not through a string and back.
 */
export function hexLines(keys: Buffer, values: Buffer, count: number, keySize: number, valueSize: number): Buffer {
  const keyAt = OPEN.length;
  const valueAt = keyAt + 2 * keySize + MIDDLE.length;
  const line = valueAt + 2 * valueSize + CLOSE.length;
  const out = Buffer.allocUnsafe(count * line);
  if (count === 0) return out;
  OPEN.copy(out, 0);
  MIDDLE.copy(out, keyAt + 2 * keySize);
  CLOSE.copy(out, line - CLOSE.length);
  for (let filled = line; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  for (let i = 0, at = 0; i < count; i++, at += line) {
    hex(keys, i * keySize, keySize, out, at + keyAt);
    hex(values, i * valueSize, valueSize, out, at + valueAt);
  }
  return out;
}
