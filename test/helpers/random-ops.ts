// Seeded random operation sequences for differential tests, shaped per map type so they hit the
// interesting cases: collisions, full maps, missing keys, every flag, batch walks and their cursors.
import type { Hex, Op, ValueSpec } from './differential.js';

export type Rng = () => number;

export function int(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)] as T;
}

export function randomHex(rng: Rng, n: number): Hex {
  let s = '';
  for (let i = 0; i < n; i++) s += int(rng, 0, 255).toString(16).padStart(2, '0');
  return s;
}

export interface Shape {
  /** Keys to draw from (a pool: repeats make updates, deletes and lookups hit). */
  keys: Hex[];
  /** A fresh value. */
  value: (rng: Rng) => ValueSpec;
  /** Element flags to try on updates, most often the valid ones. */
  updateFlags: number[];
  /** Whether the map has keys (queue/stack have none). */
  keyed: boolean;
  /** Bound on batch sizes. */
  maxBatch: number;
  /** Bytes of the batch cursor (max(key size, 4)). */
  cursor: number;
}

/** n random ops for a map of the given shape. */
export function randomOps(rng: Rng, shape: Shape, n: number): Op[] {
  const ops: Op[] = [];
  const key = (): Hex => pick(rng, shape.keys);
  const keyOrNull = (): Hex | null => (shape.keyed ? key() : null);
  const batchFlags = (): { elemFlags: number; flags: number } =>
    rng() < 0.93 ? { elemFlags: 0, flags: 0 } : pick(rng, [{ elemFlags: 4, flags: 0 }, { elemFlags: 1, flags: 0 }, { elemFlags: 0, flags: 1 }, { elemFlags: 2, flags: 0 }]);
  let walking = false;
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (walking && r < 0.5) {
      // Continue a batch walk from its cursor.
      ops.push({ op: rng() < 0.8 ? 'lookupBatch' : 'lookupAndDeleteBatch', cursor: 'last', count: int(rng, 0, shape.maxBatch), ...batchFlags() });
      if (rng() < 0.2) walking = false;
      continue;
    }
    walking = false;
    if (r < 0.3) ops.push({ op: 'update', key: keyOrNull(), value: shape.value(rng), flags: pick(rng, shape.updateFlags) });
    else if (r < 0.42) ops.push({ op: 'lookup', key: keyOrNull(), flags: rng() < 0.97 ? 0 : pick(rng, [4, 1]) });
    else if (r < 0.52) ops.push(shape.keyed ? { op: 'delete', key: key() } : { op: 'lookupAndDelete', key: null });
    else if (r < 0.58) ops.push({ op: 'nextKey', key: rng() < 0.15 ? null : keyOrNull() });
    else if (r < 0.63) ops.push({ op: 'lookupAndDelete', key: keyOrNull(), flags: rng() < 0.95 ? 0 : 4 });
    else if (r < 0.75) {
      walking = true;
      ops.push({ op: rng() < 0.8 ? 'lookupBatch' : 'lookupAndDeleteBatch', cursor: rng() < 0.9 ? 'start' : randomHex(rng, shape.cursor), count: int(rng, 0, shape.maxBatch), ...batchFlags() });
    } else if (r < 0.87) {
      const m = int(rng, 0, shape.maxBatch);
      const keys = Array.from({ length: m }, () => (shape.keyed ? key() : ''));
      ops.push({ op: 'updateBatch', keys, values: keys.map(() => shape.value(rng)), ...batchFlags() });
    } else if (r < 0.95) {
      const m = int(rng, 0, Math.max(1, shape.maxBatch >> 1));
      ops.push({ op: 'deleteBatch', keys: Array.from({ length: m }, () => (shape.keyed ? key() : '')), ...batchFlags() });
    } else {
      ops.push({ op: 'walk' });
    }
  }
  ops.push({ op: 'walk' });
  return ops;
}

/** count distinct random keys of size bytes. */
export function keyPool(rng: Rng, size: number, count: number): Hex[] {
  const s = new Set<Hex>();
  while (s.size < count) s.add(randomHex(rng, size));
  return [...s];
}

/** A u32 little-endian key. */
export function u32Hex(n: number): Hex {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}
