// Decoded entries collected by the caller, where users live: [...map.entries()], toArray(), toMap()
// of a 1M u32 -> u64 hash (u64 as bigint, and u64n as number), and a per-CPU hash's
// entriesSummed() collected, each beside the C LOOKUP_BATCH loop over the same map, in rotating
// order. Every contender checks it saw every entry with its value.
import { BpfMap, perCpu, u32, u64n } from '../src/index.js';
import { cLoop, nsPerEntry, pairOf, pairRow, rotate, type Row } from './harness.js';
import { filledHash, filledPerCpuHash } from './maps.js';

const SUITE = 'collect';

/** Throws unless entries holds keys 0..n-1, each with value key. */
function checked(n: number, entries: Iterable<[number, bigint | number]>): number {
  let c = 0;
  for (const [k, v] of entries) {
    if (BigInt(v) !== BigInt(k)) throw new Error(`key ${k}: value ${v}, expected ${k}`);
    c++;
  }
  if (c !== n) throw new Error(`${c} entries, expected ${n}`);
  return c;
}

/**
 * A contender that collects n entries: timed while it collects them, checked after (the check is
 * not the reader's cost), and then let go, so the next contender's collector does not trace them.
 */
function collecting(n: number, f: () => Array<[number, bigint | number]>): () => number {
  let kept: Array<[number, bigint | number]> = [];
  const run = nsPerEntry(() => (kept = f()).length);
  return () => {
    const r = run();
    checked(n, kept);
    kept = [];
    return r;
  };
}

export function collectRows(reps: number): Row[] {
  const n = 1_000_000;
  const batch = 1024;
  const rows: Row[] = [];
  {
    using map = filledHash(n);
    using asNumber = BpfMap.fromId(map.id, { key: u32, value: u64n });
    const fns = [
      collecting(n, () => [...map.entries({ batchSize: batch })]),
      collecting(n, () => map.entries({ batchSize: batch }).toArray()),
      collecting(n, () => asNumber.entries({ batchSize: batch }).toArray()),
      nsPerEntry(() => asNumber.entries({ batchSize: batch }).toMap().size),
      () => cLoop('lookup-batch', map.id, batch),
    ];
    const [spread, arr, arrN, mapN, c] = rotate(reps, fns) as [number[], number[], number[], number[], number[]];
    if (
      asNumber
        .entries()
        .toMap()
        .get(n - 1) !==
      n - 1
    )
      throw new Error('toMap() lost an entry');
    rows.push(
      pairRow(SUITE, `[...entries()] u32/u64 hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(spread, c), 2.0),
      pairRow(SUITE, `entries().toArray() u32/u64 hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(arr, c), 2.0),
      pairRow(SUITE, `entries().toArray() u32/u64n (numbers) hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(arrN, c), 2.0),
      pairRow(SUITE, `entries().toMap() u32/u64n hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(mapN, c)),
    );
  }
  {
    using map = filledPerCpuHash(n);
    using asNumber = BpfMap.fromId(map.id, { key: u32, value: perCpu(u64n) });
    const cpus = map.cpus;
    // maps.ts fills CPU 0's slot with the key, the others with 0: each total is the key.
    const fns = [
      collecting(n, () => [...map.entriesSummed({ batchSize: batch })]),
      collecting(n, () => map.entriesSummed({ batchSize: batch }).toArray()),
      collecting(n, () => asNumber.entriesSummed({ batchSize: batch }).toArray()),
      () => cLoop('lookup-batch', map.id, batch),
    ];
    const [spread, arr, arrN, c] = rotate(reps, fns) as [number[], number[], number[], number[]];
    rows.push(
      pairRow(
        SUITE,
        `[...entriesSummed()] per-CPU u32/u64 hash ${n} (${cpus} CPUs), batch ${batch}`,
        'C LOOKUP_BATCH loop',
        pairOf(spread, c),
        2.0,
      ),
      pairRow(SUITE, `entriesSummed().toArray() per-CPU u32/u64 hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(arr, c), 2.0),
      pairRow(SUITE, `entriesSummed().toArray() per-CPU u32/u64n hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop', pairOf(arrN, c), 2.0),
    );
  }
  return rows;
}
