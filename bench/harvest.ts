// The swap harvester's costs, printed (never asserted): time per harvest and per entry against
// drain() of the same map in the same process, the swap syscall alone, and how long harvest()
// versus harvestAsync() stall the event loop. Run: npm run bench:harvest (as root).
import { u32, u64 } from '../src/codec/int.js';
import { SwapHarvester } from '../src/harvest/harvester.js';
import { BpfMap } from '../src/map/map.js';

function fill(m: BpfMap<number, bigint>, n: number): void {
  const keys = Buffer.alloc(n * 4);
  const values = Buffer.alloc(n * 8);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i, i * 4);
    values.writeBigUInt64LE(BigInt(i), i * 8);
  }
  m.updateBatch({ keys, values });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const REPS = 7;
console.log('| entries | harvest() ms | of which swap ms | harvest ns/entry | drain() ns/entry | ratio |');
console.log('|---|---|---|---|---|---|');
for (const n of [1_000, 10_000, 100_000]) {
  using h = SwapHarvester.create({ type: 'hash', key: u32, value: u64, maxEntries: n });
  using plain = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: n });
  const harvestMs: number[] = [];
  const swapMs: number[] = [];
  const drainMs: number[] = [];
  for (let r = 0; r <= REPS; r++) {
    fill(h.active, n);
    let t0 = performance.now();
    const got = h.harvest();
    const dt = performance.now() - t0;
    if (got.length !== n) throw new Error(`harvest returned ${got.length} of ${n}`);
    fill(plain, n);
    t0 = performance.now();
    const drained = plain.drain();
    const dd = performance.now() - t0;
    if (drained.length !== n) throw new Error(`drain returned ${drained.length} of ${n}`);
    if (r === 0) continue; // warm-up
    harvestMs.push(dt);
    swapMs.push(h.lastSwapMs);
    drainMs.push(dd);
  }
  const hm = median(harvestMs);
  const dm = median(drainMs);
  console.log(`| ${n} | ${hm.toFixed(1)} | ${median(swapMs).toFixed(1)} | ${((hm * 1e6) / n).toFixed(0)} | ${((dm * 1e6) / n).toFixed(0)} | ${(hm / dm).toFixed(2)}x |`);
}

// Event-loop stall: the longest gap between 1 ms timer ticks during 10 harvests of a small map.
async function stall(useAsync: boolean): Promise<number> {
  using h = SwapHarvester.create({ type: 'hash', key: u32, value: u64, maxEntries: 64 });
  // Warm-up (the first harvestAsync() starts the worker thread).
  if (useAsync) await h.harvestAsync();
  else h.harvest();
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  for (let i = 0; i < 10; i++) {
    fill(h.active, 64);
    if (useAsync) await h.harvestAsync();
    else h.harvest();
    await new Promise((r) => setTimeout(r, 5));
  }
  clearInterval(timer);
  return worst;
}
console.log(`\nlongest event-loop stall over 10 harvests: harvest() ${(await stall(false)).toFixed(1)} ms, harvestAsync() ${(await stall(true)).toFixed(1)} ms`);
