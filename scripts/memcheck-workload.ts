// Exercises the library's bpf() paths for valgrind's memcheck: valgrind knows the element, info
// and id commands' attrs and checks that every buffer the kernel reads or writes is addressable,
// so a buffer sized wrong in bpfmap shows as an error. Valgrind 3.19 does not decode the batch
// commands (our own length checks guard those) and wrongly requires GET_NEXT_KEY's key even when it
// is NULL, which the kernel defines as "the first key": that one call stays out of the run. With
// --canary, makes one deliberate overrun through the raw native call, proving the checker sees it.
import { BpfMap, perCpu, RingBuffer, RingProducer, RingReader, struct, u32, u64, UserRingBuffer, UserRingDrainer, vmlinuxBtf } from '../src/index.js';
import { nativeBpf } from '../src/sys/native.js';

if (process.argv.includes('--canary')) {
  using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 64, maxEntries: 1 });
  const attr = Buffer.from(new ArrayBuffer(32));
  attr.writeUInt32LE(m.fd, 0);
  // Lies to the addon about the value's size: the kernel writes 64 bytes into 8.
  nativeBpf()(1, attr, 8, Buffer.alloc(4), 4, 16, Buffer.from(new ArrayBuffer(8)), 8);
  process.exit(0);
}

/**
 * The per-element walk's element sequence (7 steps of LOOKUP_ELEM + GET_NEXT_KEY in one call into
 * the addon) from key 5, until the map's end: the walk itself starts with the GET_NEXT_KEY from NULL.
 */
function walkFrom5(m: BpfMap<unknown, unknown>): void {
  const keys = Buffer.alloc(8 * m.keySize);
  keys.writeUInt32LE(5, 0);
  const values = Buffer.alloc(7 * m.valueBytes);
  const calls = Array.from({ length: 7 }, (_, i) => [
    { op: 'lookup' as const, key: i * m.keySize, out: i * m.valueBytes },
    { op: 'nextKey' as const, key: i * m.keySize, out: (i + 1) * m.keySize },
  ]).flat();
  const seq = m.kernel.elemSequence(m.fd, keys, values, calls, 0);
  while (seq.run() === calls.length) keys.copyWithin(0, 7 * m.keySize);
}

for (const type of ['hash', 'lru_hash', 'array'] as const) {
  using m = BpfMap.create({ type, key: u32, value: u64, maxEntries: 64 });
  for (let i = 0; i < 40; i++) m.set(i, BigInt(i));
  m.get(3);
  m.has(4);
  m.nextKey(5);
  walkFrom5(m);
  [...m.entries({ batchSize: 7 })];
  m.dump({ batchSize: 3 });
  m.updateBatch([[1, 1n], [2, 2n]]);
  m.info();
  if (type !== 'array') {
    m.delete(3);
    m.getAndDelete(4);
    m.deleteBatch([1, 2]);
    m.lookupAndDeleteBatch({ count: 5 });
    m.drain({ batchSize: 2 });
  }
}
{
  using pc = BpfMap.create({ type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: 16 });
  const cpus = pc.cpus;
  pc.updateBatch(Array.from({ length: 10 }, (_, i) => [i, Array.from({ length: cpus }, () => BigInt(i))] as const));
  pc.get(1);
  walkFrom5(pc);
  [...pc.entriesSummed()];
  pc.drain();
}
{
  using q = BpfMap.create({ type: 'queue', keySize: 0, valueSize: 8, maxEntries: 4 });
  q.push(Buffer.alloc(8));
  q.peek();
  q.pop();
}
{
  using tmpl = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
  using outer = BpfMap.create({ type: 'hash_of_maps', key: u32, value: u32, maxEntries: 4, innerMap: tmpl });
  outer.set(1, tmpl.fd);
  outer.get(1);
  outer.lookupBatch({ count: 4 });
}
{
  using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, name: 'memcheck' });
  using again = BpfMap.fromId(m.id);
  BpfMap.fromName('memcheck').close();
  again.freeze();
}
{
  // BTF: load a blob (BTF_LOAD, with its log buffer), create a map with it, open the map again so
  // its BTF is read back through bpf_btf_info's nested pointer, then a kernel type as a value.
  const stats = struct({ packets: u64, bytes: u64 });
  using m = BpfMap.create({ type: 'hash', key: u32, value: stats, maxEntries: 4, btf: true });
  m.set(1, { packets: 1n, bytes: 2n });
  using again = BpfMap.fromId(m.id);
  again.get(1 as never);
  using ip = BpfMap.create({ type: 'array', maxEntries: 1, btf: { value: { btf: vmlinuxBtf(), type: 'struct iphdr' } } });
  ip.dump();
}
{
  // Ring buffers: the mappings (mmap/munmap), a BPF producer with output and reserve, reads as views,
  // copies and callbacks, a wait that the kernel's wakeup ends through the libuv poll handle, a user
  // ring drained by a program's callback (PROG_LOAD with func_info), and every handle closed.
  using rb = RingBuffer.create({ size: 8192 });
  using prod = new RingProducer(rb);
  prod.outputRecords(13, { count: 5 });
  prod.reserveRecords(100, {});
  prod.reserveRecords(7, { discard: true });
  rb.read({ max: 2 });
  rb.read({ copy: true });
  rb.consume(() => {});
  const woken = rb.wait();
  prod.outputRecords(4096 - 16);
  await woken;
  rb.consumeRaw(() => {});
  const reader = new RingReader([rb]);
  const waiting = reader.wait();
  prod.outputRecords(1);
  await waiting;
  reader.read();
  using urb = UserRingBuffer.create({ size: 4096 });
  using drainer = new UserRingDrainer(urb);
  urb.write(Buffer.alloc(16, 1));
  drainer.drain();
  drainer.read();
}
{
  // Mmapable arrays and rings unmapped while views of them live on: the views read the zero pages
  // that replace the map's, and a collection unmaps those ranges (run with --expose-gc).
  let stale: BigUint64Array;
  {
    using arr = BpfMap.create({ type: 'array', key: u32, value: u64, maxEntries: 1024, flags: ['mmapable'] });
    const mem = arr.memory();
    mem.set(3, 7n);
    mem.sum();
    stale = mem.view as BigUint64Array;
  }
  stale[3] = stale[3] as bigint;
  let ring: Uint8Array | undefined;
  {
    using rb = RingBuffer.create({ size: 4096 });
    using prod = new RingProducer(rb);
    prod.outputRecords(24);
    ring = rb.read()[0];
  }
  // A ring's records are read-only to its consumer, before the unmap as after.
  if (ring?.some((b) => b !== 0)) throw new Error('a closed ring still shows its record');
  const gc = (globalThis as { gc?: () => void }).gc;
  stale = new BigUint64Array(0);
  ring = undefined;
  gc?.();
  await new Promise((resolve) => setImmediate(resolve));
}
console.log('memcheck workload done');
