import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_LPM_TRIE } from '../../src/sys/constants.js';
import { assertSameOutcomes, prng, seeds, type Hex } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { int, pick, randomHex, randomOps, type Rng } from '../helpers/random-ops.js';

/** A key: u32 prefix length, then data whose bits past the prefix are arbitrary (as users send them). */
function lpmKey(prefixlen: number, data: Buffer): Hex {
  const b = Buffer.alloc(4 + data.length);
  b.writeUInt32LE(prefixlen);
  data.copy(b, 4);
  return b.toString('hex');
}

/** Keys that nest: a few base addresses, each at many prefix lengths, plus some past the maximum. */
function lpmPool(rng: Rng, dataSize: number, count: number): Hex[] {
  const bases = Array.from({ length: 4 }, () => Buffer.from(randomHex(rng, dataSize), 'hex'));
  const out = new Set<Hex>();
  while (out.size < count) {
    const base = Buffer.from(pick(rng, bases));
    // Flip a bit or two so siblings appear under common ancestors.
    if (rng() < 0.5) {
      const bit = int(rng, 0, dataSize * 8 - 1);
      base[bit >> 3] = (base[bit >> 3] as number) ^ (0x80 >> (bit & 7));
    }
    out.add(lpmKey(rng() < 0.03 ? dataSize * 8 + int(rng, 1, 3) : int(rng, 0, dataSize * 8), base));
  }
  return [...out];
}

for (const dataSize of [4, 1, 5, 16]) {
  test(`differential, lpm_trie with ${dataSize}-byte data: lookups, post-order iteration and errors match the real kernel`, (t) => {
    if (!linuxAvailable(t)) return;
    const linux = new LinuxKernel();
    const emu = new EmulatedKernel();
    for (const seed of seeds()) {
      const rng = prng(seed);
      const keys = lpmPool(rng, dataSize, 60);
      const ops = randomOps(rng, { keys, value: (r) => randomHex(r, 3), updateFlags: [0, 0, 0, 1, 2, 3, 4], keyed: true, maxBatch: 8, cursor: 4 + dataSize }, 1500);
      const map = { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 4 + dataSize, valueSize: 3, maxEntries: 20, mapFlags: BPF_F_NO_PREALLOC, name: 'diff' };
      assertSameOutcomes(linux, emu, { map, ops }, `lpm_trie/${dataSize}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
    }
  });
}
