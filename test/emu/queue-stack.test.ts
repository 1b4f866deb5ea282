import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK } from '../../src/sys/constants.js';
import { assertSameOutcomes, prng, seeds } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { randomHex, randomOps } from '../helpers/random-ops.js';

for (const [name, type] of [['queue', BPF_MAP_TYPE_QUEUE], ['stack', BPF_MAP_TYPE_STACK]] as const) {
  test(`differential, ${name}: random push/pop/peek sequences match the real kernel`, (t) => {
    if (!linuxAvailable(t)) return;
    const linux = new LinuxKernel();
    const emu = new EmulatedKernel();
    for (const seed of seeds()) {
      const rng = prng(seed);
      // Update is push (BPF_EXIST overwrites the oldest when full), lookup is peek, lookupAndDelete pop.
      const ops = randomOps(rng, { keys: [''], value: (r) => randomHex(r, 5), updateFlags: [0, 0, 0, 2, 2, 1, 3, 4], keyed: false, maxBatch: 3, cursor: 4 }, 1000);
      const map = { mapType: type, keySize: 0, valueSize: 5, maxEntries: 6, mapFlags: 0, name: 'diff' };
      assertSameOutcomes(linux, emu, { map, ops }, `${name}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
    }
  });
}
