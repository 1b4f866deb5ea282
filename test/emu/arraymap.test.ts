import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { roundUpValueSize } from '../../src/sys/value-size.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY } from '../../src/sys/constants.js';
import { assertSameOutcomes, prng, seeds } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { randomHex, randomOps, u32Hex } from '../helpers/random-ops.js';

const OPS = 1500;

for (const [name, type, valueSize] of [['array', BPF_MAP_TYPE_ARRAY, 6], ['percpu_array', BPF_MAP_TYPE_PERCPU_ARRAY, 12]] as const) {
  test(`differential, ${name}: random sequences match the real kernel byte for byte`, (t) => {
    if (!linuxAvailable(t)) return;
    const linux = new LinuxKernel();
    const emu = new EmulatedKernel();
    const maxEntries = 10;
    const valueBytes = type === BPF_MAP_TYPE_PERCPU_ARRAY ? roundUpValueSize(valueSize) * linux.possibleCpus() : valueSize;
    // Indexes past the end too (E2BIG on update, ENOENT on lookup, the first key from GET_NEXT_KEY).
    const keys = [...Array.from({ length: maxEntries + 3 }, (_, i) => u32Hex(i)), u32Hex(0xffffffff)];
    for (const seed of seeds()) {
      const rng = prng(seed);
      const ops = randomOps(rng, { keys, value: (r) => randomHex(r, valueBytes), updateFlags: [0, 0, 0, 1, 2, 3, 4], keyed: true, maxBatch: 12, cursor: 4 }, OPS);
      const map = { mapType: type, keySize: 4, valueSize, maxEntries, mapFlags: 0, name: 'diff' };
      assertSameOutcomes(linux, emu, { map, ops }, `${name}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
    }
  });
}
