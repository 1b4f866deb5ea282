import { BpfError } from '../kernel/error.js';
import { BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_NOEXIST } from '../sys/constants.js';
import { errno, errnoName } from '../sys/errno.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';
import { batchChunks, batchUnsupported, decodeChunks, MapIterator, type Chunk, type WalkOptions } from './walk.js';

/** Options of BpfMap.drain. */
export type DrainOptions = Pick<WalkOptions, 'batchSize' | 'lock'>;

/**
 * Removes and returns every entry with LOOKUP_AND_DELETE_BATCH, one pass from the first bucket to
 * the end: each removed entry is returned exactly once. Entries inserted behind the cursor during
 * the pass stay in the map for the next drain. Map types without the command get an error, never
 * a per-element read-then-delete, which would lose writes that land between the two.
 */
export function drain<K, V>(map: BpfMap<K, V>, opts?: DrainOptions): Array<[K, V]> {
  // toArray(): the result sized once, not grown by copies as a spread grows it.
  return new MapIterator('batch', decodeChunks(map, drainChunks(map, opts), (r, i): [K, V] => [r.key(i), r.value(i)])).toArray();
}

/** The chunks drain() decodes, for callers that stream them (checked for support before the first). */
export function drainChunks(map: BpfMap<unknown, unknown>, opts?: DrainOptions): Generator<Chunk, void, void> {
  const why = batchUnsupported(map, BPF_MAP_LOOKUP_AND_DELETE_BATCH);
  if (why !== 0)
    throw new BpfError(BPF_MAP_LOOKUP_AND_DELETE_BATCH, why, {
      map: map[internal].ref,
      hint: `${map.typeName} maps have no BPF_MAP_LOOKUP_AND_DELETE_BATCH on this kernel (hash maps have it from Linux 5.6), ` +
        'and drain() does not fall back to reading and deleting element by element, which loses writes landing in between',
    });
  return batchChunks(map, BPF_MAP_LOOKUP_AND_DELETE_BATCH, opts);
}

/** What putBack did: how many entries are back, and for the rest, how many per errno name. */
export interface PutBack {
  restored: number;
  /** EEXIST: a program re-created the key meanwhile; its new value is kept. */
  recreated: number;
  failed: Map<string, number>;
}

/**
 * Writes drained entries (packed at the map's key and value sizes) back, each with its own
 * UPDATE_ELEM and BPF_NOEXIST: a key a program re-created since the drain keeps its new value
 * instead of being overwritten with the older one, and one failure does not stop the others.
 */
export function putBack(map: BpfMap<unknown, unknown>, keys: Buffer, values: Buffer, count: number): PutBack {
  const out: PutBack = { restored: 0, recreated: 0, failed: new Map() };
  const { keySize, valueBytes } = map;
  for (let i = 0; i < count; i++) {
    try {
      map.kernel.update(map.fd, keys.subarray(i * keySize, (i + 1) * keySize), values.subarray(i * valueBytes, (i + 1) * valueBytes), BPF_NOEXIST);
      out.restored++;
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
      if (e.errno === errno.EEXIST) out.recreated++;
      else out.failed.set(errnoName(e.errno), (out.failed.get(errnoName(e.errno)) ?? 0) + 1);
    }
  }
  return out;
}
