// updateBatch of 1M entries (every key of a full u32 -> u64 hash) beside C UPDATE_BATCH.
import { cLoop, interleave, nsPerEntry, pairRow, type Row } from './harness.js';
import { filledHash, packed } from './maps.js';

const SUITE = 'write';

export function writeRows(reps: number): Row[] {
  const n = 1_000_000;
  using map = filledHash(n);
  const chunk = 4096;
  const input = packed(n, 8);
  const keys = Array.from({ length: n }, (_, i) => i);
  const values = Array.from({ length: n }, (_, i) => BigInt(i));
  const c = (): number => cLoop('update-batch', map.id, chunk);
  return [
    pairRow(SUITE, `updateBatch() packed buffers, ${n}, chunk ${chunk}`, 'C UPDATE_BATCH loop',
      interleave(reps, nsPerEntry(() => map.updateBatch(input, { chunkSize: chunk })), c), 1.1),
    pairRow(SUITE, `updateBatch() { keys, values } arrays via codecs, ${n}, chunk ${chunk}`, 'C UPDATE_BATCH loop',
      interleave(reps, nsPerEntry(() => map.updateBatch({ keys, values }, { chunkSize: chunk })), c)),
  ];
}
