// Argument checks shared by both kernels, so a bad buffer or number fails the same way on each.

/** A RangeError unless buf holds at least len bytes (len 0 accepts anything, null included). */
export function need(buf: Uint8Array | null, len: number, what: string): void {
  if (len > 0 && (buf === null || buf.length < len))
    throw new RangeError(`${what} must hold ${len} bytes, got ${buf === null ? 'none' : buf.length}`);
}

/** A RangeError unless n is a u32. */
export function u32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${n}`);
}
