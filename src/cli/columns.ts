/** Rows of cells as aligned text, under an optional header: numbers right-aligned, the last column unpadded. */
export function alignColumns(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const n = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, j) => Math.max(...all.map((r) => (r[j] ?? '').length)));
  const numeric = widths.map((_, j) => rows.length > 0 && rows.every((r) => /^-?[0-9][0-9.,]*%?$/.test(r[j] ?? '')));
  return all
    .map((r) => r.map((c, j) => (numeric[j] ? c.padStart(widths[j] ?? 0) : j === r.length - 1 ? c : c.padEnd(widths[j] ?? 0))).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** JSON text in which bigints are numbers when exact, else decimal strings. */
export function toJsonText(v: unknown, indent?: number): string {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? (x <= safe && x >= -safe ? Number(x) : x.toString()) : x), indent);
}
