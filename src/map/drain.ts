import { BpfError } from '../kernel/error.js';
import { BPF_MAP_LOOKUP_AND_DELETE_BATCH } from '../sys/constants.js';
import type { BpfMap } from './map.js';
import { batchChunks, batchUnsupported, decodeChunks, type Chunk, type WalkOptions } from './walk.js';

export type DrainOptions = Pick<WalkOptions, 'batchSize' | 'lock'>;

/**
 * Removes and returns every entry with LOOKUP_AND_DELETE_BATCH, one pass from the first bucket to
 * the end: each removed entry is returned exactly once. Entries inserted behind the cursor during
 * the pass stay in the map for the next drain. Map types without the command get an error, never
 * a per-element read-then-delete, which would lose writes that land between the two.
 */
export function drain<K, V>(map: BpfMap<K, V>, opts?: DrainOptions): Array<[K, V]> {
  return [...decodeChunks(map, drainChunks(map, opts), (r, i): [K, V] => [r.key(i), r.value(i)])];
}

/** The chunks drain() decodes, for callers that stream them (checked for support before the first). */
export function drainChunks(map: BpfMap<unknown, unknown>, opts?: DrainOptions): Generator<Chunk, void, void> {
  const why = batchUnsupported(map, BPF_MAP_LOOKUP_AND_DELETE_BATCH);
  if (why !== 0)
    throw new BpfError(BPF_MAP_LOOKUP_AND_DELETE_BATCH, why, {
      map: map.ref,
      hint: `${map.typeName} maps have no BPF_MAP_LOOKUP_AND_DELETE_BATCH on this kernel (hash maps have it from Linux 5.6), ` +
        'and drain() does not fall back to reading and deleting element by element, which loses writes landing in between',
    });
  return batchChunks(map, BPF_MAP_LOOKUP_AND_DELETE_BATCH, opts);
}
