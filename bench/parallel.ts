// Parallel dumps (suite parallel): dump({ threads: 2 }) of a 1M-entry u32 -> u64 hash and array,
// wall time beside the one-thread C LOOKUP_BATCH loop, interleaved. Each dump is checked to hold
// every entry.
import { RANGES_PER_THREAD } from '../src/map/parallel.js';
import { cLoop, interleave, pairRow, type Row } from './harness.js';
import { filledArray, filledHash, type HashMap } from './maps.js';

const SUITE = 'parallel';
const N = 1_000_000;
const BATCH = 1024;

function rows(kind: string, map: HashMap, reps: number): Row[] {
  const out: Row[] = [];
  for (const threads of [2]) {
    let ranges = 0;
    let ok = true;
    const ours = (): number => {
      const t0 = process.hrtime.bigint();
      const d = map.dump({ threads, batchSize: BATCH });
      const ns = Number(process.hrtime.bigint() - t0) / Math.max(d.count, 1);
      ranges = d.ranges;
      // Not timed: every key once (the keys are 0..N-1), with its value (equal to the key).
      const keys = d.keyView as Uint32Array;
      const values = d.valueView as BigUint64Array;
      const seen = new Uint8Array(N);
      for (let i = 0; i < d.count; i++) {
        const k = keys[i] as number;
        if (seen[k] === 1 || values[i] !== BigInt(k)) ok = false;
        seen[k] = 1;
      }
      if (d.count !== N) ok = false;
      return ns;
    };
    const row = pairRow(
      SUITE,
      `dump({ threads: ${threads} }) ${kind} ${N}, batch ${BATCH}, wall time`,
      'C LOOKUP_BATCH loop (one thread)',
      interleave(reps, ours, () => cLoop('lookup-batch', map.id, BATCH)),
      0.6,
    );
    row.checked = ok && ranges === threads * RANGES_PER_THREAD;
    row.note = `${ranges} ranges, each dump checked`;
    out.push(row);
  }
  return out;
}

export function parallelRows(reps: number): Row[] {
  const out: Row[] = [];
  {
    using map = filledHash(N);
    out.push(...rows('hash', map, reps));
  }
  {
    using map = filledArray(N);
    out.push(...rows('array', map, reps));
  }
  return out;
}
