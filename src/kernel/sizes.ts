import {
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
  BPF_MAP_TYPE_PERCPU_HASH,
} from '../sys/constants.js';
import { roundUpValueSize } from '../sys/value-size.js';
import type { MapInfo, MapSizes } from './kernel.js';

const PER_CPU = new Set([
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);

export function isPerCpuType(type: number): boolean {
  return PER_CPU.has(type);
}

/** The byte sizes the syscalls use for a map. */
export function sizesOf(info: MapInfo, cpus: number): MapSizes {
  return {
    type: info.type,
    keySize: info.keySize,
    valueSize: info.valueSize,
    valueBytes: isPerCpuType(info.type) ? roundUpValueSize(info.valueSize) * cpus : info.valueSize,
    cursorSize: Math.max(info.keySize, 4),
  };
}

/** A map's memory estimated from its sizes, where the kernel reports none: 8-byte aligned keys and values, max_entries of each. */
export function memoryEstimate(info: Pick<MapInfo, 'maxEntries' | 'keySize'>, sizes: Pick<MapSizes, 'valueBytes'>): number {
  const round8 = (n: number): number => Math.ceil(n / 8) * 8;
  return info.maxEntries * (round8(info.keySize) + round8(sizes.valueBytes));
}
