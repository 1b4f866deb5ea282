import {
  BPF_F_INNER_MAP,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';
import type { EmuMap, EmuMapAttr } from './map.js';

export function isMapInMap(type: number): boolean {
  return type === BPF_MAP_TYPE_ARRAY_OF_MAPS || type === BPF_MAP_TYPE_HASH_OF_MAPS;
}

/** How a map-in-map reaches the maps it holds: fds resolved by the emulated kernel, and references. */
export interface InnerMaps {
  /** The map open as fd (EBADF when none). */
  resolve(fd: number): EmuMap;
  hold(map: EmuMap): void;
  release(map: EmuMap): void;
}

/**
 * The shape every inner map of an outer map must have (bpf_map_meta_alloc / map_meta_equal):
 * type, key and value sizes and flags; arrays and per-CPU arrays (array_map_meta_equal) also
 * max_entries unless created with BPF_F_INNER_MAP.
 */
export class InnerMeta {
  readonly template: EmuMapAttr;

  /**
   * Built from the inner_map_fd of MAP_CREATE; a map-in-map cannot be an inner map (EINVAL), nor
   * a type without map_meta_equal, of the emulated ones prog_array (ENOTSUPP).
   */
  constructor(inner: EmuMap) {
    if (isMapInMap(inner.attr.type)) fail(errno.EINVAL);
    if (inner.attr.type === BPF_MAP_TYPE_PROG_ARRAY) fail(524);
    this.template = { ...inner.attr };
  }

  /** EINVAL when map does not have the template's shape. */
  check(map: EmuMap): void {
    const a = this.template;
    const b = map.attr;
    const same = a.type === b.type && a.keySize === b.keySize && a.valueSize === b.valueSize && a.flags === b.flags;
    if (!same) fail(errno.EINVAL);
    const array = a.type === BPF_MAP_TYPE_ARRAY || a.type === BPF_MAP_TYPE_PERCPU_ARRAY;
    if (array && (a.flags & BPF_F_INNER_MAP) === 0 && a.maxEntries !== b.maxEntries) fail(errno.EINVAL);
  }
}

/** The u32 fd a map-in-map update carries as its value. */
export function valueFd(value: Uint8Array): number {
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, true);
}

/** A map-in-map value as userspace reads it: the inner map's id. */
export function writeId(out: Uint8Array, offset: number, map: EmuMap): void {
  new DataView(out.buffer, out.byteOffset, out.length).setUint32(offset, map.id, true);
}
