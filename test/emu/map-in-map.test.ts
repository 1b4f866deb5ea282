import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import {
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PROG_ARRAY,
} from '../../src/sys/constants.js';
import { assertKernelAnswer, assertSameOutcomes, prng, seeds, type ValueSpec } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { keyPool, pick, randomOps, u32Hex } from '../helpers/random-ops.js';

// Inner maps: three of the template's shape, one array with other max_entries, one hash (wrong type).
const INNERS = [
  { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 },
  { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 },
  { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 },
  { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 5, mapFlags: 0 },
  { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 },
];

const value = (r: () => number): ValueSpec => (r() < 0.05 ? { badFd: true } : { inner: pick(r, [0, 0, 1, 1, 2, 2, 3, 4]) });

test('differential, array_of_maps: fds in, ids out, empty slots skipped, shape checks', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const seed of seeds()) {
    const rng = prng(seed);
    const keys = Array.from({ length: 9 }, (_, i) => u32Hex(i));
    const ops = randomOps(rng, { keys, value, updateFlags: [0, 0, 0, 1, 2], keyed: true, maxBatch: 8, cursor: 4 }, 400);
    const map = { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 7, mapFlags: 0, innerMapIndex: 0 };
    assertSameOutcomes(linux, emu, { inners: INNERS, map, ops }, `array_of_maps, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
  }
});

test('differential, hash_of_maps: fds in, ids out, bucket walk, shape checks', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const seed of seeds()) {
    const rng = prng(seed);
    const ops = randomOps(rng, { keys: keyPool(rng, 4, 14), value, updateFlags: [0, 0, 0, 1, 2, 3], keyed: true, maxBatch: 6, cursor: 4 }, 400);
    const map = { mapType: BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_ZERO_SEED, innerMapIndex: 1 };
    assertSameOutcomes(linux, emu, { inners: INNERS, map, ops }, `hash_of_maps, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
  }
});

const OUTER_TYPES = [BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS];

test('a prog_array cannot be the inner map template (ENOTSUPP: it has no map_meta_equal)', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const mapType of OUTER_TYPES) {
    assertKernelAnswer(linux, emu, {
      inners: [{ mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 }],
      map: { mapType, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, innerMapIndex: 0 },
      ops: [],
    }, ['create BPF_MAP_CREATE ENOTSUPP'], `outer type ${mapType}`);
  }
});

test('a percpu_array inner map must have the template\'s max_entries (EINVAL), as an array must', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  const inner = (maxEntries: number): { mapType: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number } =>
    ({ mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries, mapFlags: 0 });
  for (const mapType of OUTER_TYPES) {
    assertKernelAnswer(linux, emu, {
      inners: [inner(4), inner(8), inner(4)],
      map: { mapType, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, innerMapIndex: 0 },
      ops: [
        { op: 'update', key: u32Hex(0), value: { inner: 1 } },
        { op: 'update', key: u32Hex(1), value: { inner: 2 } },
        { op: 'lookup', key: u32Hex(0) },
      ],
    }, ['create ok', 'update BPF_MAP_UPDATE_ELEM EINVAL', 'update ok', 'lookup false'], `outer type ${mapType}`);
  }
});

test('fd 0 (stdin: open, not a map) as an inner map value: EINVAL, not EBADF', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const mapType of OUTER_TYPES) {
    for (const fd of [0, 1, 2]) {
      assertKernelAnswer(linux, emu, {
        inners: [INNERS[0]!],
        map: { mapType, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, innerMapIndex: 0 },
        ops: [{ op: 'update', key: u32Hex(0), value: { fd } }, { op: 'update', key: u32Hex(1), value: { badFd: true } }],
      }, ['create ok', 'update BPF_MAP_UPDATE_ELEM EINVAL', 'update BPF_MAP_UPDATE_ELEM EBADF'], `outer type ${mapType}, fd ${fd}`);
    }
  }
});
