// The maps the benchmarks read and write: u32 keys 0..n-1, filled with one packed UPDATE_BATCH pass.
import { BpfMap, perCpu, u32, u64 } from '../src/index.js';

export type HashMap = BpfMap<number, bigint>;
export type PerCpuMap = BpfMap<number, bigint[]>;

/** Packed u32 keys 0..n-1 and values of valueBytes bytes each (the key number in the first 8 bytes). */
export function packed(n: number, valueBytes: number): { keys: Buffer; values: Buffer } {
  const keys = Buffer.alloc(4 * n);
  const values = Buffer.alloc(valueBytes * n);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i, 4 * i);
    values.writeBigUInt64LE(BigInt(i), valueBytes * i);
  }
  return { keys, values };
}

/** A u32 -> u64 hash map holding n entries (and room for maxEntries). */
export function filledHash(n: number, maxEntries = n): HashMap {
  const map = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries, name: 'bench_hash' });
  map.updateBatch(packed(n, 8));
  return map;
}

/** A u32 -> u64-per-CPU hash map holding n entries. */
export function filledPerCpuHash(n: number): PerCpuMap {
  const map = BpfMap.create({ type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: n, name: 'bench_pcpu' });
  map.updateBatch(packed(n, map.valueBytes));
  return map;
}

/** A u32 -> u64 array map of n entries (an array is always full). */
export function filledArray(n: number): HashMap {
  const map = BpfMap.create({ type: 'array', key: u32, value: u64, maxEntries: n, name: 'bench_array' });
  map.updateBatch(packed(n, 8));
  return map;
}
