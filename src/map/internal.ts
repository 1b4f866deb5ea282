import type { MapRef } from '../kernel/error.js';
import type { CursorOwner } from './cursor.js';
import type { ArrayMemory } from './memory.js';

/**
 * The key of a map's internal handle: what the files beside BpfMap (batch, walk, dump, drain) and
 * the harvester and exporter call on a map, kept off the verbs users see. Not exported by the
 * package.
 */
export const internal: unique symbol = Symbol('bpfmap.internal');

export interface MapInternals<K, V> extends CursorOwner {
  /** Map context for errors. */
  readonly ref: MapRef;
  /** Throws MapClosedError when the map is closed. */
  assertOpen(): void;
  /** Adds this map to a BpfError thrown by the kernel layer. */
  annotate(e: unknown): unknown;
  /** A codec's refusal (CodecError) naming key or value, the map, and the entry's index in a batch; anything else as is. */
  codecError(e: unknown, side: 'key' | 'value', entry?: number): unknown;
  /** Encodes key into the map's scratch key buffer, or buf (a TypeError before any syscall when it does not fit). */
  encodeKey(key: K, buf?: Buffer): Buffer;
  encodeValue(value: V, buf?: Buffer): Buffer;
  /** An mmapable array's memory, mapped on first use; undefined for other maps or where mmap is refused. */
  mapped(): ArrayMemory<V> | undefined;
}
