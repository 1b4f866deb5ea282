// Reading a full u32 -> u64 hash map: dump(), entries() with codecs and the per-element fallback,
// each interleaved with the C loop doing the same syscalls; sizes 10k/100k/1M, batches 64/1024/16384.
import { cLoop, interleave, nsPerEntry, pairRow, type Row } from './harness.js';
import { filledHash, type HashMap } from './maps.js';

const SUITE = 'read';

function entriesLoop(map: HashMap, batchSize: number): () => number {
  let sink = 0n;
  return nsPerEntry(() => {
    let c = 0;
    for (const [, v] of map.entries({ batchSize })) {
      sink += v;
      c++;
    }
    if (sink < 0n) throw new Error('unreachable');
    return c;
  });
}

export function readRows(reps: number): Row[] {
  const rows: Row[] = [];
  for (const n of [10_000, 100_000, 1_000_000]) {
    using map = filledHash(n);
    const full = n === 1_000_000;
    for (const batch of full ? [64, 1024, 16384] : [1024]) {
      const main = full && batch === 1024;
      const c = (): number => cLoop('lookup-batch', map.id, batch);
      rows.push(pairRow(SUITE, `dump() hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
        interleave(reps, nsPerEntry(() => map.dump({ batchSize: batch }).count), c), main ? 1.05 : undefined));
      rows.push(pairRow(SUITE, `entries() u32/u64 hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
        interleave(reps, entriesLoop(map, batch), c), main ? 1.5 : undefined));
    }
    if (full) {
      let sink = 0n;
      const walk = nsPerEntry(() => {
        let c = 0;
        for (const [, v] of map.entries({ mode: 'per-element' })) {
          sink += v;
          c++;
        }
        return c;
      });
      rows.push(pairRow(SUITE, `entries() per-element fallback, hash ${n}`, 'C GET_NEXT_KEY+LOOKUP_ELEM walk',
        interleave(Math.max(3, Math.ceil(reps / 2)), walk, () => cLoop('per-element', map.id)), 1.15));
      if (sink < 0n) throw new Error('unreachable');
    }
  }
  return rows;
}
