import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import {
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
} from '../../src/sys/constants.js';
import { roundUpValueSize } from '../../src/sys/value-size.js';
import { assertSameOutcomes, prng, seeds } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { keyPool, randomHex, randomOps, type Rng } from '../helpers/random-ops.js';

const OPS = 1500;

interface Variant {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Distinct keys drawn from: above max_entries for the plain hashes (E2BIG), well below for LRU (see below). */
  pool: number;
}

// The kernel's LRU hands free nodes to each CPU in batches of 128 and may evict early when the
// process moves between CPUs; kept far below max_entries, no eviction happens on either kernel,
// so contents and order stay comparable. Eviction is compared in lru.test.ts, pinned to one CPU.
const VARIANTS: Variant[] = [
  { name: 'hash, u32 keys', type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 24, flags: BPF_F_ZERO_SEED, pool: 40 },
  { name: 'hash, 3-byte keys (byte jhash)', type: BPF_MAP_TYPE_HASH, keySize: 3, valueSize: 5, maxEntries: 13, flags: BPF_F_ZERO_SEED, pool: 24 },
  { name: 'hash, 13-byte keys, no prealloc', type: BPF_MAP_TYPE_HASH, keySize: 13, valueSize: 4, maxEntries: 9, flags: BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, pool: 16 },
  { name: 'hash, 16-byte keys (jhash2 mix)', type: BPF_MAP_TYPE_HASH, keySize: 16, valueSize: 4, maxEntries: 32, flags: BPF_F_ZERO_SEED, pool: 50 },
  { name: 'percpu_hash, 12-byte values', type: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 12, maxEntries: 16, flags: BPF_F_ZERO_SEED, pool: 30 },
  { name: 'percpu_hash, no prealloc, 7-byte keys', type: BPF_MAP_TYPE_PERCPU_HASH, keySize: 7, valueSize: 8, maxEntries: 5, flags: BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, pool: 9 },
  { name: 'hash, 64-byte keys', type: BPF_MAP_TYPE_HASH, keySize: 64, valueSize: 1, maxEntries: 7, flags: BPF_F_ZERO_SEED, pool: 12 },
  { name: 'lru_percpu_hash, per-CPU LRU lists', type: BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 1024, flags: BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU, pool: 60 },
  { name: 'lru_hash', type: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 1024, flags: BPF_F_ZERO_SEED, pool: 120 },
  { name: 'lru_percpu_hash', type: BPF_MAP_TYPE_LRU_PERCPU_HASH, keySize: 8, valueSize: 4, maxEntries: 1024, flags: BPF_F_ZERO_SEED, pool: 120 },
];

for (const v of VARIANTS) {
  test(`differential, ${v.name}: random sequences match the real kernel byte for byte`, (t) => {
    if (!linuxAvailable(t)) return;
    const linux = new LinuxKernel();
    const emu = new EmulatedKernel();
    const valueBytes = v.type === BPF_MAP_TYPE_PERCPU_HASH || v.type === BPF_MAP_TYPE_LRU_PERCPU_HASH
      ? roundUpValueSize(v.valueSize) * linux.possibleCpus() : v.valueSize;
    for (const seed of seeds()) {
      const rng: Rng = prng(seed);
      const ops = randomOps(rng, {
        keys: keyPool(rng, v.keySize, v.pool),
        value: (r) => randomHex(r, valueBytes),
        updateFlags: [0, 0, 0, 1, 2, 2, 3, 4],
        keyed: true,
        maxBatch: 8,
        cursor: Math.max(v.keySize, 4),
      }, OPS);
      const map = { mapType: v.type, keySize: v.keySize, valueSize: v.valueSize, maxEntries: v.maxEntries, mapFlags: v.flags, name: 'diff' };
      assertSameOutcomes(linux, emu, { map, ops }, `${v.name}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
    }
  });
}
