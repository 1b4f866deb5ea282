// Reading a full hash map (u32 -> u64): bpfmap's dump(), entries() with codecs and the per-element
// fallback, each beside the C loop doing the same syscalls, measured in the same run.
// Run: npm run bench -- read [entries]   (default 1,000,000 entries)
import { BpfMap, u32, u64 } from '../src/index.js';
import { exportRows } from './export.js';
import { baseline, type Row, table, time } from './harness.js';

export function readRows(n: number, reps: number): Row[] {
  using map = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: n, name: 'bench_read' });
  const keys = Buffer.alloc(4 * n);
  const values = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i, 4 * i);
    values.writeBigUInt64LE(BigInt(i), 8 * i);
  }
  map.updateBatch({ keys, values });
  const batch = 1024;
  const cBatch = baseline('lookup-batch', map.id, batch, reps);
  const cElem = baseline('per-element', map.id, 0, Math.max(1, Math.floor(reps / 2)));
  let sink = 0n;
  const rows: Row[] = [
    {
      what: `dump() ${n} entries, batch ${batch}`,
      bpfmap: time(reps, () => map.dump({ batchSize: batch }).count),
      baseline: cBatch.median_ns,
      baselineName: 'C LOOKUP_BATCH loop',
      target: 1.05,
    },
    {
      what: `entries() u32/u64 codecs, batch ${batch}`,
      bpfmap: time(reps, () => {
        let c = 0;
        for (const [, v] of map.entries({ batchSize: batch })) {
          sink += v;
          c++;
        }
        return c;
      }),
      baseline: cBatch.median_ns,
      baselineName: 'C LOOKUP_BATCH loop',
      target: 1.5,
    },
    {
      what: 'entries() per-element fallback',
      bpfmap: time(Math.max(1, Math.floor(reps / 2)), () => {
        let c = 0;
        for (const [, v] of map.entries({ mode: 'per-element' })) {
          sink += v;
          c++;
        }
        return c;
      }),
      baseline: cElem.median_ns,
      baselineName: 'C GET_NEXT_KEY+LOOKUP_ELEM',
      target: 1.15,
    },
  ];
  if (sink < 0n) console.log(sink);
  return rows;
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const n = Number(process.argv[2] ?? 1_000_000);
  console.log(table([...readRows(n, 5), ...(await exportRows(100_000, 7))]));
}
