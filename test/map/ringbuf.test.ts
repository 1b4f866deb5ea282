import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { struct } from '../../src/codec/struct.js';
import { u32, u64 } from '../../src/codec/int.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap, MapClosedError } from '../../src/map/map.js';
import { RingBuffer, RingBufferError, RingReader, UserRingBuffer } from '../../src/map/ringbuf.js';
import { RingProducer, UserRingDrainer } from '../../src/prog/ringbuf-producer.js';
import { BPF_MAP_TYPE_RINGBUF } from '../../src/sys/constants.js';
import { BPF_RINGBUF_HDR_SZ } from '../../src/sys/constants.js';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tool } from '../helpers/cli.js';
import { linuxAvailable, pinPath, testKernels } from '../helpers/kernel.js';

const TAIL = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff));
/** 1 byte to a page; odd sizes exercise the 8-byte alignment of the next header. */
const SIZES = [1, 3, 7, 8, 9, 13, 63, 64, 65, 255, 1000, 1021, 2049, 4095, 4096];

/** What a record written with sequence number seq holds: the u64 seq, then the tail (see RingProducer). */
function expected(seq: bigint, size: number): Buffer {
  return RingProducer.expected(TAIL, seq, size);
}

/** Writes records as the BPF producer does: through a real program on Linux, through the emulator's test producer otherwise. */
interface Producer {
  output(size: number, count?: number): void;
  reserve(size: number, discard: boolean): void;
  close(): void;
}

function producerFor(kernel: Kernel, rb: { readonly fd: number }): Producer {
  if (kernel instanceof EmulatedKernel) {
    let seq = 0n;
    const write = (size: number, discard: boolean | null): void => {
      seq++;
      const bytes = expected(seq, size);
      if (discard === null) kernel.ringbufOutput(rb.fd, bytes);
      else {
        const rec = kernel.ringbufReserve(rb.fd, size);
        if (!rec) return;
        rec.data.set(bytes);
        if (discard) kernel.ringbufDiscard(rb.fd, rec);
        else kernel.ringbufSubmit(rb.fd, rec);
      }
    };
    return {
      output: (size, count = 1) => {
        for (let i = 0; i < count; i++) write(size, null);
      },
      reserve: (size, discard) => write(size, discard),
      close: () => {},
    };
  }
  const p = new RingProducer(rb);
  p.setPayload(TAIL);
  return {
    output: (size, count = 1) => p.outputRecords(size, { count }),
    reserve: (size, discard) => p.reserveRecords(size, { discard }),
    close: () => p.close(),
  };
}

for (const k of testKernels()) {
  describe(`ring buffer on the ${k.name} kernel`, () => {
    test('records of 1 byte to a page, discards between them, the ring wrapped many times: all of them, in order, once, with their bytes', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using rb = RingBuffer.create({ size: 16384, kernel });
      const prod = producerFor(kernel, rb);
      try {
        let seq = 0n;
        const want: Array<[bigint, number]> = [];
        let discards = 0;
        let produced = 0;
        let got = 0;
        const check = (recs: Uint8Array[]): void => {
          for (const r of recs) {
            const [s, size] = want[got] as [bigint, number];
            assert.equal(r.length, size, `record ${got} (seq ${s}) length`);
            assert.ok(
              Buffer.from(r.buffer, r.byteOffset, r.length).equals(expected(s, size)),
              `record ${got} (seq ${s}, ${size} bytes) bytes`,
            );
            got++;
          }
        };
        for (let i = 0; i < 300; i++) {
          const size = SIZES[i % SIZES.length] as number;
          seq++;
          if (i % 5 === 3) {
            prod.reserve(size, true);
            discards++;
          } else {
            if (i % 2 === 0) prod.output(size);
            else prod.reserve(size, false);
            want.push([seq, size]);
          }
          produced += Math.ceil((size + BPF_RINGBUF_HDR_SZ) / 8) * 8;
          // Read every few records, alternating views and copies: a 16 KiB ring holds at most three 4 KiB records.
          if (i % 3 === 2) check(rb.read({ copy: i % 2 === 0 }));
        }
        check(rb.read());
        assert.equal(got, want.length, 'every submitted record came out');
        const s = rb.stats();
        assert.equal(s.records, want.length);
        assert.equal(s.discarded, discards);
        assert.equal(s.producerPos, produced, "the kernel's producer position counts every reservation");
        assert.equal(s.consumerPos, produced);
        assert.ok(produced > 10 * 16384, `the ring wrapped ${Math.floor(produced / 16384)} times`);
      } finally {
        prod.close();
      }
    });

    test('a second reader of the same ring starts where the other left off: no record twice, consumer_pos never moved back', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using rb = RingBuffer.create({ size: 4096, kernel });
      using other = RingBuffer.fromMap(rb.map);
      const prod = producerFor(kernel, rb);
      try {
        prod.output(24, 5);
        assert.equal(rb.read({ copy: true }).length, 5);
        prod.output(24, 3);
        const late = other.read({ copy: true });
        assert.deepEqual(
          late.map((r) => Buffer.from(r).readBigUInt64LE(0)),
          [6n, 7n, 8n],
          'only the records the first reader had not read',
        );
        const pos = other.stats().consumerPos;
        rb.close();
        assert.equal(other.stats().consumerPos, pos, 'closing the first reader keeps the ring where the second left it');
      } finally {
        prod.close();
      }
    });

    test('views are valid until the next read, which gives their space back; copies outlive it', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using rb = RingBuffer.create({ size: 4096, kernel });
      const prod = producerFor(kernel, rb);
      try {
        prod.output(100, 3);
        const views = rb.read({ max: 2 });
        assert.equal(views.length, 2);
        assert.equal(rb.stats().consumerPos, 0, 'consumer_pos is not published while the views are out');
        const copies = rb.read({ copy: true });
        assert.equal(copies.length, 1);
        assert.equal(rb.stats().consumerPos, 3 * 112);
        assert.ok(Buffer.from(copies[0] as Uint8Array).equals(expected(3n, 100)));
        let n = 0;
        assert.equal(
          rb.consume(() => n++),
          0,
        );
        prod.output(8, 2);
        assert.equal(
          rb.consume((r) => assert.equal(r.length, 8)),
          2,
        );
      } finally {
        prod.close();
      }
    });

    test('a codec decodes each record', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      const event = struct({ seq: u64, word: u32 });
      using rb = RingBuffer.create({ size: 4096, kernel, codec: event });
      const prod = producerFor(kernel, rb);
      try {
        prod.output(16, 2);
        const recs = rb.read();
        assert.deepEqual(recs, [
          { seq: 1n, word: TAIL.readUInt32LE(0) },
          { seq: 2n, word: TAIL.readUInt32LE(0) },
        ]);
        prod.output(5);
        assert.throws(() => rb.read(), RingBufferError, 'a record shorter than the codec');
      } finally {
        prod.close();
      }
    });

    test('several rings through one reader: each record with its ring, each ring in order', async (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      const rings = [0, 1, 2].map(() => RingBuffer.create({ size: 8192, kernel }));
      const prods = rings.map((r) => producerFor(kernel, r));
      try {
        const reader = new RingReader(rings);
        prods.forEach((p, i) => p.output(16 + i, i + 2));
        const events = reader.read();
        assert.equal(events.length, 2 + 3 + 4);
        rings.forEach((ring, i) => {
          const mine = events.filter((e) => e.ring === ring).map((e) => e.record);
          assert.equal(mine.length, i + 2);
          mine.forEach((rec, j) => assert.ok(Buffer.from(rec).equals(expected(BigInt(j + 1), 16 + i))));
        });
        // Waiting on all of them: the ring that gets a record wakes the reader.
        const it = reader[Symbol.asyncIterator]();
        const next = it.next();
        setImmediate(() => prods[1]?.output(40));
        const r = await next;
        assert.equal(r.done, false);
        assert.equal(r.value?.ring, rings[1]);
        assert.equal(r.value?.record.length, 40);
        for (const ring of rings) ring.close();
        assert.equal((await it.next()).done, true, 'the reader ends when its rings are closed');
      } finally {
        prods.forEach((p) => p.close());
        rings.forEach((r) => r.close());
      }
    });

    test('for await waits for records without polling, and ends when the ring is closed', async (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      const rb = RingBuffer.create({ size: 8192, kernel });
      const prod = producerFor(kernel, rb);
      try {
        const got: number[] = [];
        const done = (async () => {
          for await (const rec of rb) {
            got.push(rec.length);
            if (got.length === 3) prod.output(21);
            if (got.length === 4) rb.close();
          }
        })();
        // The reader is waiting now (nothing has been produced); each batch wakes it.
        setImmediate(() => prod.output(10, 3));
        await done;
        assert.deepEqual(got, [10, 10, 10, 21]);
      } finally {
        prod.close();
        rb.close();
      }
    });

    test('bad input: typed errors, never a read outside the ring', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using hash = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, kernel });
      assert.throws(
        () => RingBuffer.fromMap(hash as BpfMap<unknown, unknown>),
        (e: unknown) => e instanceof RingBufferError && /hash map, not a ringbuf/.test(e.message),
      );
      const ringMap = BpfMap.create({ type: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 8192, kernel }) as BpfMap<
        unknown,
        unknown
      >;
      assert.throws(() => RingBuffer.fromMap(ringMap, { size: 4096 }), /a ring of 8192 bytes, not 4096/);
      ringMap.close();
      assert.throws(() => RingBuffer.fromMap(ringMap), MapClosedError);
      assert.throws(() => RingBuffer.create({ size: 5000, kernel }), /EINVAL/, 'a ring size the kernel refuses');
      assert.throws(() => RingBuffer.create({ size: 4096, kernel, type: 'struct no_such_type_here' }), RingBufferError);

      const rb = RingBuffer.create({ size: 4096, kernel });
      const prod = producerFor(kernel, rb);
      try {
        // A record longer than the ring: the producer's reservation fails, nothing is written.
        prod.output(4096);
        assert.deepEqual(rb.read(), []);
        assert.equal(rb.stats().producerPos, 0);
        prod.output(30);
        const [view] = rb.read();
        assert.equal(view?.length, 30);
        assert.ok(
          view?.some((b) => b !== 0),
          'the record holds its sequence number',
        );
        rb.close();
        // The real ring's pages are gone: its views read zeros, never the ring and never unmapped memory
        // (the emulator's memory simply stays).
        if (kernel.kind === 'linux') {
          assert.equal(view?.length, 30, 'a view of a closed ring is not detached');
          assert.ok(
            view?.every((b) => b === 0),
            'a view of a closed ring reads zeros',
          );
        }
        assert.throws(() => rb.read(), MapClosedError);
        rb.close(); // idempotent
      } finally {
        prod.close();
        rb.close();
      }
    });

    test('user ring buffer: records userspace submits reach the consumer in order, discarded ones skipped', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using urb = UserRingBuffer.create({ size: 4096, kernel });
      const sums: bigint[] = [];
      let drain: () => number;
      let totals: () => { sum: bigint; count: bigint };
      let drainer: UserRingDrainer | undefined;
      if (kernel instanceof EmulatedKernel) {
        let sum = 0n;
        let count = 0n;
        drain = () =>
          kernel.userRingbufDrain(urb.fd, (d) => {
            count++;
            if (d.length >= 8) sum += Buffer.from(d).readBigUInt64LE(0);
          });
        totals = () => ({ sum, count });
      } else {
        const d = new UserRingDrainer(urb);
        drainer = d;
        drain = () => d.drain();
        totals = () => d.read();
      }
      try {
        let want = 0n;
        for (let i = 1; i <= 40; i++) {
          const rec = urb.reserve(8 + (i % 5));
          assert.ok(rec, `record ${i} fits`);
          rec.fill(0xee);
          Buffer.from(rec.buffer, rec.byteOffset, rec.length).writeBigUInt64LE(BigInt(i * 1000), 0);
          if (i % 4 === 0) urb.discard(rec);
          else {
            urb.submit(rec);
            want += BigInt(i * 1000);
          }
          if (i % 10 === 0) sums.push(BigInt(drain()));
        }
        assert.deepEqual(sums, [8n, 7n, 8n, 7n], 'the drain takes the submitted records, not the discarded ones');
        assert.deepEqual(totals(), { sum: want, count: 30n });
        assert.equal(urb.free(), 4096, 'the consumer gave all the space back');
        // Full: reserve says so; a record that can never fit is an error.
        while (urb.reserve(1000)) {
          /* fill it */
        }
        assert.equal(urb.reserve(1000), null);
        assert.throws(() => urb.reserve(4096), RingBufferError);
        assert.throws(() => urb.submit(new Uint8Array(8)), RingBufferError);
      } finally {
        drainer?.close();
      }
    });
  });
}

test('emulated: a corrupt header stops the reader with an error instead of reading past the ring', () => {
  const kernel = new EmulatedKernel();
  using rb = RingBuffer.create({ size: 4096, kernel });
  kernel.ringbufOutput(rb.fd, new Uint8Array(16));
  // The emulator's producer memory is plain JS memory: write a header the kernel never would.
  const mem = kernel.ringMemory(rb.fd);
  new DataView(mem.producer).setUint32(mem.pageSize, 9000, true);
  assert.throws(
    () => rb.read(),
    (e: unknown) => e instanceof RingBufferError && /a record of 9000 bytes with 24 produced.*the ring is corrupt/.test(e.message),
  );
  // A producer position more than a ring ahead of the consumer: refused before any header is read.
  new DataView(mem.producer).setBigUint64(0, 3n * 4096n, true);
  assert.throws(
    () => rb.read(),
    (e: unknown) => e instanceof RingBufferError && /12288 bytes produced and not consumed.*the ring is corrupt/.test(e.message),
  );
});

test('emulated: wakeups follow the kernel: none with BPF_RB_NO_WAKEUP, always with FORCE', async () => {
  const kernel = new EmulatedKernel();
  using rb = RingBuffer.create({ size: 4096, kernel });
  let woke = 0;
  const cancel = rb.onceReady(() => woke++);
  kernel.ringbufOutput(rb.fd, new Uint8Array(4), 1 /* BPF_RB_NO_WAKEUP */);
  await new Promise((r) => setImmediate(r));
  assert.equal(woke, 0, 'no wakeup asked for');
  kernel.ringbufOutput(rb.fd, new Uint8Array(4), 2 /* BPF_RB_FORCE_WAKEUP */);
  await new Promise((r) => setImmediate(r));
  assert.equal(woke, 1);
  cancel();
});

/** Syscalls strace -c counted (its "total" row), 0 when it printed no table (none were made). */
function straceCalls(summary: string): number {
  const total = summary.split('\n').find((l) => /\stotal\s*$/.test(l));
  if (total === undefined) return 0;
  // % time, seconds, usecs/call, calls[, errors], "total".
  const nums = total.trim().split(/\s+/);
  return Number(nums[3]);
}

/** Runs strace -c on one thread of pid for about a second, while the event loop keeps running. */
function straceWindow(strace: string, pid: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = spawn('timeout', ['-s', 'INT', '1', strace, '-c', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    s.stderr.on('data', (d: Buffer) => (err += d.toString()));
    s.on('error', reject);
    s.on('exit', () => resolve(err));
  });
}

test('linux: a second process reads a pinned ring; waiting for records, its thread makes no syscalls', async (t) => {
  if (!linuxAvailable(t)) return;
  const strace = tool(t, 'strace');
  if (!strace) return;
  const path = pinPath('ringbuf');
  using rb = RingBuffer.create({ size: 16384 });
  rb.map.pin(path);
  const prod = new RingProducer(rb);
  prod.setPayload(TAIL);
  const child = spawn(process.execPath, [new URL('../helpers/ringbuf-child.js', import.meta.url).pathname, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    while (!out.includes('ready\n')) await new Promise((r) => setTimeout(r, 20));
    // Idle: the reader waits in epoll on the event loop, no timer, no spinning.
    const idle = await straceWindow(strace, child.pid as number);
    assert.equal(straceCalls(idle), 0, `an idle reader made syscalls:\n${idle}`);
    // The same measurement sees the reader wake while records arrive (so the zero above is not blindness).
    const tick = setInterval(() => prod.outputRecords(10), 50);
    const busy = await straceWindow(strace, child.pid as number);
    clearInterval(tick);
    assert.ok(straceCalls(busy) > 0, `strace saw no syscalls from a reader receiving records:\n${busy}`);
    prod.outputRecords(99);
    assert.equal(await exited, 0);
    const recs = out.split('\n').filter((l) => l.startsWith('rec '));
    const last = Number(prod.seq());
    assert.equal(recs.length, last, 'every record produced came out once');
    recs.forEach((l, i) => {
      const size = i === recs.length - 1 ? 99 : 10;
      assert.equal(
        l,
        `rec ${size} ${expected(BigInt(i + 1), size)
          .subarray(0, 8)
          .toString('hex')}`,
      );
    });
  } finally {
    child.kill();
    prod.close();
    rmSync(path, { force: true });
  }
});
