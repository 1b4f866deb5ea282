// Array map (u32 -> u64), 1M entries: dump() beside the C loop.
import { cLoop, interleave, nsPerEntry, pairRow, type Row } from './harness.js';
import { filledArray } from './maps.js';

export function arrayRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = filledArray(n);
  const batch = 1024;
  return [
    pairRow('array', `dump() array ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
      interleave(reps, nsPerEntry(() => map.dump({ batchSize: batch }).count), () => cLoop('lookup-batch', map.id, batch)), 1.05),
    pairRow('array', `diagnostic: dump() array ${n}, batch ${batch}`, 'C LOOKUP_BATCH into max_entries buffers',
      interleave(reps, nsPerEntry(() => map.dump({ batchSize: batch }).count), () => cLoop('lookup-batch-all', map.id, batch))),
  ];
}
