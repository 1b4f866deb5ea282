// Ring buffers (kernel/bpf/ringbuf.c) in memory: the same layout as the kernel maps it (a consumer
// page, a producer page, the data twice), so RingBuffer reads the emulated ring with the code that
// reads the real one. Without an MMU to map the data twice, every byte written is written to both
// copies. Producing (what bpf_ringbuf_reserve/submit/discard/output do) is done by tests through
// EmulatedKernel. Records are not persisted with a pin: another process sees an empty ring.
import { errno } from '../sys/errno.js';
import {
  BPF_MAP_TYPE_USER_RINGBUF,
  BPF_RB_FORCE_WAKEUP,
  BPF_RB_NO_WAKEUP,
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
} from '../sys/constants.js';
import { fail } from './errno.js';
import { EmuMap, type BatchOps, type EmuEntry, type EmuMapAttr } from './map.js';

/** The emulator's page: the ring's layout unit (the kernel's PAGE_SIZE on x86_64). */
export const EMU_PAGE = 4096;

/** A record reserved by a test producer, written through data and then submitted or discarded. */
export interface EmuRingRecord {
  readonly data: Uint8Array;
  /** @internal The record's header position. */
  readonly pos: number;
}

export class EmuRingBuf extends EmuMap {
  readonly batchOps: BatchOps = { lookup: null, lookupAndDelete: null, update: false, delete: false };
  readonly consumer = new ArrayBuffer(EMU_PAGE);
  readonly producer: ArrayBuffer;
  readonly userProducer: boolean;
  private readonly cons: BigUint64Array;
  private readonly prod: BigUint64Array;
  private readonly data: Uint8Array;
  private readonly size: number;
  /** Readiness listeners with whether they are started (a level-triggered poll, as epoll on the map fd). */
  private readonly listeners = new Map<() => void, boolean>();
  private scheduled = false;

  constructor(attr: EmuMapAttr) {
    super(attr);
    this.size = attr.maxEntries;
    this.userProducer = attr.type === BPF_MAP_TYPE_USER_RINGBUF;
    this.producer = new ArrayBuffer(EMU_PAGE + 2 * this.size);
    this.cons = new BigUint64Array(this.consumer, 0, 1);
    this.prod = new BigUint64Array(this.producer, 0, 1);
    this.data = new Uint8Array(this.producer, EMU_PAGE);
  }

  lookup(): void {
    fail(524 /* ENOTSUPP */);
  }
  update(): void {
    fail(524);
  }
  delete(): void {
    fail(524);
  }
  nextKey(): void {
    fail(524);
  }
  dump(): EmuEntry[] {
    return [];
  }
  restore(): void {}
  clear(): void {}

  /** Bytes produced and not yet consumed (the kernel's ringbuf_avail_data_sz). */
  available(): number {
    return Number(this.prod[0]! - this.cons[0]!);
  }

  /** Writes bytes at data position pos (any u64 position), into both copies of the data. */
  private put(pos: number, bytes: Uint8Array): void {
    let at = pos % this.size;
    for (let i = 0; i < bytes.length;) {
      const n = Math.min(bytes.length - i, this.size - at);
      const part = bytes.subarray(i, i + n);
      this.data.set(part, at);
      this.data.set(part, at + this.size);
      i += n;
      at = 0;
    }
  }

  private header(pos: number, len: number): void {
    const h = new Uint8Array(BPF_RINGBUF_HDR_SZ);
    const v = new DataView(h.buffer);
    v.setUint32(0, len >>> 0, true);
    // pg_off: the header's page offset from the ring's start, as the kernel writes it.
    v.setUint32(4, Math.floor((2 * EMU_PAGE + (pos % this.size)) / EMU_PAGE), true);
    this.put(pos, h);
  }

  /** __bpf_ringbuf_reserve: a busy record of size bytes, or null when it does not fit (the producer's -EAGAIN). */
  reserve(size: number): EmuRingRecord | null {
    if (this.userProducer) fail(errno.EINVAL);
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff / 4) return null;
    const len = Math.ceil((size + BPF_RINGBUF_HDR_SZ) / 8) * 8;
    if (len > this.size) return null;
    const pos = Number(this.prod[0]!);
    if (pos + len - Number(this.cons[0]!) > this.size - 1) return null;
    this.header(pos, size | BPF_RINGBUF_BUSY_BIT);
    this.prod[0] = BigInt(pos + len);
    return { data: new Uint8Array(size), pos };
  }

  /** bpf_ringbuf_commit: the record's bytes, then its final header, then the wakeup the kernel would make. */
  commit(rec: EmuRingRecord, discard: boolean, flags: number): void {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) fail(errno.EINVAL);
    this.put(rec.pos + BPF_RINGBUF_HDR_SZ, rec.data);
    this.header(rec.pos, rec.data.length | (discard ? BPF_RINGBUF_DISCARD_BIT : 0));
    const caughtUp = Number(this.cons[0]!) % this.size === rec.pos % this.size;
    if (flags & BPF_RB_FORCE_WAKEUP || (caughtUp && !(flags & BPF_RB_NO_WAKEUP))) this.wake();
  }

  /** bpf_ringbuf_output: false when the record does not fit (-EAGAIN). */
  output(bytes: Uint8Array, flags: number): boolean {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) fail(errno.EINVAL);
    const rec = this.reserve(bytes.length);
    if (!rec) return false;
    rec.data.set(bytes);
    this.commit(rec, false, flags);
    return true;
  }

  /**
   * bpf_user_ringbuf_drain on a USER_RINGBUF: each submitted record to fn in order, discarded ones
   * skipped; stops at a busy record or the end. Returns the records given to fn; a malformed header
   * is the kernel's -EINVAL/-E2BIG.
   */
  drainUser(fn: (data: Uint8Array) => void, flags: number): number {
    if (!this.userProducer || flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) fail(errno.EINVAL);
    const view = new DataView(this.producer, EMU_PAGE);
    let n = 0;
    for (;;) {
      const prod = Number(this.prod[0]!);
      const cons = Number(this.cons[0]!);
      if (prod % 8 !== 0) fail(errno.EINVAL);
      if (cons >= prod) break;
      const hdr = view.getUint32(cons % this.size, true);
      const len = (hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) >>> 0;
      const total = Math.ceil((len + BPF_RINGBUF_HDR_SZ) / 8) * 8;
      if (total > prod - cons) fail(errno.EINVAL);
      if (total > this.size) fail(errno.E2BIG);
      if (hdr & BPF_RINGBUF_DISCARD_BIT) {
        this.cons[0] = BigInt(cons + total);
        continue;
      }
      if (hdr & BPF_RINGBUF_BUSY_BIT) break;
      const start = (cons % this.size) + BPF_RINGBUF_HDR_SZ;
      fn(this.data.slice(start, start + len));
      this.cons[0] = BigInt(cons + total);
      n++;
    }
    if (flags & BPF_RB_FORCE_WAKEUP || (!(flags & BPF_RB_NO_WAKEUP) && n > 0)) this.wake();
    return n;
  }

  /** Whether the poll says ready: data to read (kernel producer) or room to write (user producer). */
  private ready(): boolean {
    return this.userProducer ? this.available() < this.size : this.available() > 0;
  }

  /** The kernel's irq_work: listeners are called later, from the event loop, as epoll would. */
  private wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const [fn, on] of [...this.listeners]) if (on && this.listeners.get(fn) === true && this.ready()) fn();
    });
  }

  /** A readiness watch, level-triggered like epoll: starting it while the ring is ready fires it. */
  watch(onReady: () => void): { start(): void; stop(): void; close(): void } {
    const fn = (): void => onReady();
    this.listeners.set(fn, false);
    return {
      start: () => {
        if (!this.listeners.has(fn)) fail(errno.EBADF);
        this.listeners.set(fn, true);
        if (this.ready()) this.wake();
      },
      stop: () => {
        if (this.listeners.has(fn)) this.listeners.set(fn, false);
      },
      close: () => void this.listeners.delete(fn),
    };
  }
}
