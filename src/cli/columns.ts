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

/** Bytes as `ls -h` shows them: 512, 4.0K, 12M. */
export function humanBytes(n: number): string {
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? String(n) : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u] as string}`;
}
