import type { Kernel } from '../kernel/kernel.js';

/**
 * Where a batch walk resumes: the kernel's opaque in_batch/out_batch bytes (a bucket index for
 * the hash family, the last key for the generic path), tied to the map that produced it. Another
 * map could read more bytes than the cursor holds, so a cursor is refused anywhere else.
 */
export class BatchCursor {
  /** @internal */
  constructor(
    readonly kernel: Kernel,
    readonly mapId: number,
    readonly bytes: Buffer,
  ) {}

  /** A copy of the cursor bytes, e.g. to log or compare. */
  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** The identity a cursor is checked against. */
export interface CursorOwner {
  readonly kernel: Kernel;
  readonly id: number;
  readonly cursorSize: number;
  label(): string;
}

/** The cursor's bytes for owner, or a TypeError when it came from another map. */
export function cursorBytes(owner: CursorOwner, cursor: BatchCursor | null | undefined): Buffer | null {
  if (cursor === null || cursor === undefined) return null;
  if (!(cursor instanceof BatchCursor)) throw new TypeError('cursor must be a BatchCursor returned by a batch call on this map');
  const resumes = 'a cursor only resumes the walk of the map that produced it';
  if (cursor.kernel !== owner.kernel)
    throw new TypeError(`cursor comes from another kernel object (${cursor.kernel.kind}), not the one map ${owner.label()} is open on: ${resumes}`);
  if (cursor.mapId !== owner.id) throw new TypeError(`cursor belongs to map id ${cursor.mapId}, not to map ${owner.label()}: ${resumes}`);
  if (cursor.bytes.length !== owner.cursorSize)
    throw new TypeError(`cursor holds ${cursor.bytes.length} bytes, but map ${owner.label()}'s cursors are ${owner.cursorSize} (max(key_size, 4)): ${resumes}`);
  return cursor.bytes;
}
