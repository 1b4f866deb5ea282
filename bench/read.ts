// Reading a full u32 -> u64 hash map: dump() and entries() with codecs (suite read; sizes
// 10k/100k/1M, batches 64/1024/16384) and the per-element fallback (suite walk), each interleaved
// with the C loop doing the same syscalls.
import { allocAttr } from '../src/sys/attr.js';
import { BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM } from '../src/sys/constants.js';
import { MAP_ELEM_ATTR as L, sysElemSequence } from '../src/sys/map-elem.js';
import { nativeBpf } from '../src/sys/native.js';
import { WALK_STEPS } from '../src/map/walk.js';
import { cLoop, interleave, nsPerEntry, pairOf, pairRow, rotate, type Row } from './harness.js';
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

/**
 * The least a Node program can do for the per-element walk: the addon called straight, no checks,
 * no chunks, no decoding. Beside the C walk it shows what crossing into native code per syscall
 * costs, the part of the per-element gap that no JavaScript above the addon can remove.
 */
function addonWalk(map: HashMap): () => number {
  const bpf = nativeBpf();
  const attr = allocAttr(L.size);
  return nsPerEntry(() => {
    attr.writeUInt32LE(map.fd, L.map_fd);
    let key = Buffer.alloc(4);
    let next = Buffer.alloc(4);
    const value = Buffer.alloc(8);
    let c = 0;
    let r = bpf(BPF_MAP_GET_NEXT_KEY, attr, L.key, null, 0, L.value, next, 4);
    while (r === 0) {
      const t = next;
      next = key;
      key = t;
      if (bpf(BPF_MAP_LOOKUP_ELEM, attr, L.key, key, 4, L.value, value, 8) === 0) c++;
      r = bpf(BPF_MAP_GET_NEXT_KEY, attr, L.key, key, 4, L.value, next, 4);
    }
    return c;
  });
}

/**
 * The bare loop with the addon's sequence call, laid out as the walk lays it out (WALK_STEPS steps
 * of LOOKUP_ELEM + GET_NEXT_KEY per crossing), with no checks, no chunks and no decoding.
 */
function addonSequenceWalk(map: HashMap): () => number {
  const bpf = nativeBpf();
  const steps = WALK_STEPS;
  const keys = Buffer.alloc((steps + 1) * 4);
  const values = Buffer.alloc(steps * 8);
  const calls = Array.from({ length: steps }, (_, i) => [
    { cmd: BPF_MAP_LOOKUP_ELEM, flags: 0, key: [0, i * 4, 4] as const, value: [1, i * 8, 8] as const },
    { cmd: BPF_MAP_GET_NEXT_KEY, flags: 0, key: [0, i * 4, 4] as const, value: [0, (i + 1) * 4, 4] as const },
  ]).flat();
  const attr = allocAttr(L.size);
  return nsPerEntry(() => {
    const run = sysElemSequence(map.fd, [keys, values], calls);
    attr.writeUInt32LE(map.fd, L.map_fd);
    let c = 0;
    let more = bpf(BPF_MAP_GET_NEXT_KEY, attr, L.key, null, 0, L.value, keys, 4) === 0;
    while (more) {
      const made = run() & 0xffff;
      c += (made + 1) >> 1;
      more = made === 2 * steps;
      keys.copyWithin(0, steps * 4);
    }
    return c;
  });
}

export function readRows(reps: number): Row[] {
  const rows: Row[] = [];
  for (const n of [10_000, 100_000, 1_000_000]) {
    using map = filledHash(n);
    const full = n === 1_000_000;
    // Small maps read in milliseconds, where one descheduling swamps a run: more repetitions.
    const r = full ? reps : reps * 3;
    for (const batch of full ? [64, 1024, 16384] : [1024]) {
      const main = full && batch === 1024;
      const c = (): number => cLoop('lookup-batch', map.id, batch);
      rows.push(pairRow(SUITE, `dump() hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
        interleave(r, nsPerEntry(() => map.dump({ batchSize: batch }).count), c), main ? 1.05 : undefined));
      rows.push(pairRow(SUITE, `entries() u32/u64 hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
        interleave(r, entriesLoop(map, batch), c), main ? 1.5 : undefined));
      if (main) {
        rows.push(pairRow(SUITE, `diagnostic: dump() hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH into max_entries buffers',
          interleave(r, nsPerEntry(() => map.dump({ batchSize: batch }).count), () => cLoop('lookup-batch-all', map.id, batch))));
        // An agent dumping the same map every interval passes the last dump back: no allocation,
        // no page faults, the kernel writes into memory already mapped, as the C loop does.
        let last = map.dump({ batchSize: batch });
        rows.push(pairRow(SUITE, `dump({ into: last }) hash ${n}, batch ${batch}`, 'C LOOKUP_BATCH loop',
          interleave(r, nsPerEntry(() => (last = map.dump({ batchSize: batch, into: last })).count), c), 1.05));
      }
    }
  }
  return rows;
}

/** The per-element fallback over 1M entries, and the bare addon loop, beside the C walk. */
export function walkRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = filledHash(n);
  let sink = 0n;
  const walk = nsPerEntry(() => {
    let c = 0;
    for (const [, v] of map.entries({ mode: 'per-element' })) {
      sink += v;
      c++;
    }
    return c;
  });
  // The walk, the bare addon loop and C in turn, so the two rows split the gap in the same rounds.
  const [ours, bare, seq, c] = rotate(Math.max(3, Math.ceil(reps / 2)), [walk, addonWalk(map), addonSequenceWalk(map), () => cLoop('per-element', map.id)]) as [
    number[],
    number[],
    number[],
    number[],
  ];
  const rows = [
    pairRow('walk', `entries() per-element fallback, hash ${n}`, 'C GET_NEXT_KEY+LOOKUP_ELEM walk', pairOf(ours, c), 1.25),
    pairRow('walk', `diagnostic: bare addon loop, GET_NEXT_KEY+LOOKUP_ELEM, hash ${n}`, 'C GET_NEXT_KEY+LOOKUP_ELEM walk', pairOf(bare, c)),
    pairRow('walk', `diagnostic: bare addon loop with bpfSequence (one crossing per ${WALK_STEPS} entries), hash ${n}`, 'C GET_NEXT_KEY+LOOKUP_ELEM walk', pairOf(seq, c)),
    pairRow('walk', `diagnostic: entries() per-element fallback, hash ${n}`, 'bare addon loop with bpfSequence', pairOf(ours, seq)),
  ];
  if (sink < 0n) throw new Error('unreachable');
  return rows;
}
