// An mmapable u32 -> u64 array of 1M entries read through its memory (map.memory()): the total of
// every value and dump(), beside the C LOOKUP_BATCH loop over the same array and beside C loops
// over the same mapping (bench/c/mmap.c), all in rotating order in the same rounds.
import { execFileSync } from 'node:child_process';
import { BpfMap, u32, u64 } from '../src/index.js';
import { buildC, cLoop, nsPerEntry, pairOf, pairRow, rotate, type Row } from './harness.js';
import { packed } from './maps.js';

const SUITE = 'mmap';

/** One run of a C loop over the array's mapping (a process of its own): ns per entry. */
function cMmap(mode: 'sum' | 'copy', id: number): number {
  const r = JSON.parse(execFileSync(buildC('mmap'), [mode, String(id), '1'], { encoding: 'utf8' })) as {
    median_ns: number;
    entries: number;
  };
  if (r.entries === 0) throw new Error(`C mmap ${mode} on map ${id} handled no entry`);
  return r.median_ns;
}

export function mmapRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = BpfMap.create({ type: 'array', key: u32, value: u64, maxEntries: n, flags: ['mmapable'], name: 'bench_mmap' });
  const data = packed(n, 8);
  map.updateBatch(data);
  const expected = ((BigInt(n) - 1n) * BigInt(n)) / 2n;
  const mem = map.memory();
  const view = mem.view as BigUint64Array;
  const check = (what: string, got: bigint): void => {
    if (got !== expected) throw new Error(`${what}: total ${got}, expected ${expected}`);
  };
  const sum = nsPerEntry(() => {
    check('memory().sum()', mem.sum() as bigint);
    return n;
  });
  // What a program writes without sum(): one BigInt per value.
  const loop = nsPerEntry(() => {
    let s = 0n;
    for (let i = 0; i < n; i++) s += view[i] as bigint;
    check('BigInt loop', s);
    return n;
  });
  const dump = nsPerEntry(() => {
    const d = map.dump();
    if (d.mode !== 'memory' || !d.values.equals(data.values)) throw new Error('dump() of the mmapable array differs from what was written');
    return d.count;
  });
  let last = map.dump();
  const dumpInto = nsPerEntry(() => (last = map.dump({ into: last })).count);
  const runs = rotate(reps, [
    sum,
    loop,
    dump,
    dumpInto,
    () => cLoop('lookup-batch', map.id, 1024),
    () => cMmap('sum', map.id),
    () => cMmap('copy', map.id),
  ]);
  const [s, l, d, di, batch, cSum, cCopy] = runs as [number[], number[], number[], number[], number[], number[], number[]];
  return [
    pairRow(SUITE, `memory().sum() mmap'd array ${n}`, 'C LOOKUP_BATCH loop', pairOf(s, batch), 0.05),
    pairRow(SUITE, `dump() mmap'd array ${n}`, 'C LOOKUP_BATCH loop', pairOf(d, batch), 0.05),
    pairRow(SUITE, `memory().sum() mmap'd array ${n}`, 'C sum over the same mmap', pairOf(s, cSum), 2),
    pairRow(SUITE, `dump({ into: last }) mmap'd array ${n}`, 'C copy over the same mmap into reused buffers', pairOf(di, cCopy), 2),
    pairRow(
      SUITE,
      `diagnostic: dump() mmap'd array ${n} (fresh buffers)`,
      'C copy over the same mmap into reused buffers',
      pairOf(d, cCopy),
    ),
    pairRow(SUITE, `diagnostic: BigInt loop over memory().view, array ${n}`, 'C sum over the same mmap', pairOf(l, cSum)),
  ];
}
