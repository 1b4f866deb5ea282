// Per-CPU hash (u32 -> u64 per CPU), 1M entries: dump() and entriesSummed() beside the C loop.
import { cLoop, interleave, nsPerEntry, pairRow, type Row } from './harness.js';
import { filledPerCpuHash } from './maps.js';

const SUITE = 'percpu';

export function perCpuRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = filledPerCpuHash(n);
  const batch = 1024;
  const c = (): number => cLoop('lookup-batch', map.id, batch);
  let sink = 0n;
  const summed = nsPerEntry(() => {
    let k = 0;
    for (const [, v] of map.entriesSummed({ batchSize: batch })) {
      sink += v;
      k++;
    }
    return k;
  });
  const rows = [
    pairRow(SUITE, `dump() per-CPU hash ${n} (${map.cpus} CPUs), batch ${batch}`, 'C LOOKUP_BATCH loop',
      interleave(reps, nsPerEntry(() => map.dump({ batchSize: batch }).count), c), 1.05),
    pairRow(SUITE, `entriesSummed() per-CPU hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', interleave(reps, summed, c), 1.6),
    pairRow(SUITE, `diagnostic: dump() per-CPU hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH into max_entries buffers',
      interleave(reps, nsPerEntry(() => map.dump({ batchSize: batch }).count), () => cLoop('lookup-batch-all', map.id, batch))),
  ];
  if (sink < 0n) throw new Error('unreachable');
  return rows;
}
