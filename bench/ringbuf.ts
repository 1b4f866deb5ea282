// Ring buffer consumption: records per second of RingBuffer beside libbpf's ring_buffer__consume
// (bench/c/ringbuf.c, Debian's libbpf-dev) on the same 16 MiB ring, filled before each run by the
// same BPF producer (RingProducer, BPF_PROG_TEST_RUN, no wakeups). Target: at least 0.7x libbpf's
// records per second, i.e. at most 1/0.7 its nanoseconds per record. Two JS rows per size:
// consumeRaw, zero-copy as libbpf's callback is (the record read in place: the mapping, an offset
// and a length, where libbpf gives a pointer and a size), which carries the target; and consume, a
// diagnostic of what one Uint8Array object per record adds (V8 takes 35 ns or more to make one).
import { execFileSync } from 'node:child_process';
import { RingBuffer } from '../src/map/ringbuf.js';
import { RingProducer } from '../src/prog/ringbuf-producer.js';
import { buildC, interleave, pairRow, type Row } from './harness.js';

const RING = 16 << 20;

export function ringbufRows(reps: number): Row[] {
  const bin = buildC('ringbuf', ['-lbpf']);
  using ring = RingBuffer.create({ size: RING, name: 'bench_ringbuf' });
  using prod = new RingProducer(ring);
  const rows: Row[] = [];
  const cleanup: RingBuffer[] = [];
  using _readers = { [Symbol.dispose]: () => cleanup.forEach((r) => r.close()) };
  for (const size of [64, 1024]) {
    const count = Math.floor((RING - 1) / (Math.ceil((size + 8) / 8) * 8));
    // Each run starts from a full ring, filled by the same program without wakeups.
    const fill = (): void => prod.outputRecords(size, { count, wakeup: 'none' });
    const libbpf = (): number => {
      fill();
      const r = JSON.parse(execFileSync(bin, [String(ring.map.id)], { encoding: 'utf8' })) as { records: number; ns: number };
      if (r.records !== count) throw new Error(`libbpf consumed ${r.records} of ${count} records`);
      return r.ns / r.records;
    };
    // One reader for all the JS runs, as a consumer keeps one: it starts each read where the C
    // consumer left the ring's consumer position. The callbacks read each record's first byte, as the C one does.
    const reader = RingBuffer.fromMap(ring.map);
    cleanup.push(reader);
    const timed = (run: (r: RingBuffer) => number) => (): number => {
      fill();
      const t0 = process.hrtime.bigint();
      const n = run(reader);
      const ns = Number(process.hrtime.bigint() - t0);
      if (n !== count) throw new Error(`bpfmap consumed ${n} of ${count} records`);
      return ns / n;
    };
    // One handler each for the whole run, as a consumer has; the sum wraps at 32 bits (as the C one's
    // unsigned long wraps) so it stays a small integer to V8 instead of a heap number per record.
    let sum = 0;
    const onRaw = (bytes: Uint8Array, off: number, len: number): void => void (sum = (sum + (bytes[off] as number) + len) | 0);
    const onView = (rec: Uint8Array): void => void (sum = (sum + (rec[0] as number) + rec.length) | 0);
    const raw = timed((r) => r.consumeRaw(onRaw));
    const views = timed((r) => r.consume(onView));
    rows.push(
      pairRow(
        'ringbuf',
        `consumeRaw ${size} B records, zero-copy, in place (${count} per run)`,
        'libbpf ring_buffer__consume',
        interleave(reps, raw, libbpf),
        1 / 0.7,
      ),
      pairRow(
        'ringbuf',
        `diagnostic: consume ${size} B records, a Uint8Array made per record (${count} per run)`,
        'libbpf ring_buffer__consume',
        interleave(reps, views, libbpf),
      ),
    );
  }
  return rows;
}
