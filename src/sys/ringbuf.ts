// The ring buffer's shared memory (kernel/bpf/ringbuf.c) and its readiness, for both ring types:
// BPF_MAP_TYPE_RINGBUF (BPF programs produce, userspace consumes) and BPF_MAP_TYPE_USER_RINGBUF
// (the other way round). The layout past the first page is [producer page][data][data again]: the
// kernel maps the data pages twice, so a record that wraps past the end reads on contiguously.
import { errnoName } from './errno.js';
import { mapMemory, unmapMemory } from './mmap.js';
import { nativeWatch, type NativeWatch } from './native.js';


let page: number | undefined;

/** The system's page size: the unit of the ring's layout (4 KiB on x86_64, 4/16/64 KiB on arm64). */
export function pageSize(): number {
  return (page ??= nativeWatch().pageSize());
}

/** The two mappings of a ring buffer map. */
export interface RingMapping {
  /** The consumer page: consumer_pos, a u64 at offset 0. Writable by whoever consumes. */
  consumer: ArrayBuffer;
  /** The producer page (producer_pos at 0), then the data twice: page + 2 * dataSize bytes. */
  producer: ArrayBuffer;
  /** Unmaps both (unmapMemory: views of either read zeros afterwards, never the ring). */
  unmap(): void;
}

/**
 * Maps a ring buffer of dataSize bytes (its max_entries). With a kernel producer the consumer page is
 * read-write and the rest read-only; with a user producer (USER_RINGBUF) the reverse. Throws MmapError.
 */
export function mapRing(fd: number, dataSize: number, userProducer: boolean): RingMapping {
  const p = pageSize();
  const consumer = mapMemory(fd, p, 0, !userProducer);
  let producer: ArrayBuffer;
  try {
    producer = mapMemory(fd, p + 2 * dataSize, p, userProducer);
  } catch (e) {
    unmapMemory(consumer);
    throw e;
  }
  return {
    consumer,
    producer,
    unmap() {
      unmapMemory(consumer);
      unmapMemory(producer);
    },
  };
}

/** Thrown when the event loop cannot watch an fd. */
export class WatchError extends Error {
  constructor(
    readonly errno: number,
    readonly fd: number,
  ) {
    super(`cannot watch fd ${fd} for readiness: ${errnoName(errno)}`);
    this.name = 'WatchError';
  }
}

/** One interest in an fd's readiness: onReady is called (from the event loop) while started and readable. */
export interface FdWatch {
  start(): void;
  stop(): void;
  /** Stops for good; the last close of an fd's watches releases its libuv handle. */
  close(): void;
}

interface Shared {
  handle: NativeWatch;
  /** Each listener, with whether it is started. */
  listeners: Map<() => void, boolean>;
  running: boolean;
}

// libuv allows one poll handle per fd: watches of the same fd share it.
const byFd = new Map<number, Shared>();

function fire(s: Shared): void {
  for (const [fn, on] of [...s.listeners]) if (on && s.listeners.get(fn) === true) fn();
}

/**
 * Watches fd for readability on Node's event loop (a libuv poll handle: epoll, level-triggered).
 * Waiting costs no thread; the handle polls only while some watch of the fd is started.
 */
export function watchFd(fd: number, onReady: () => void): FdWatch {
  const calls = nativeWatch();
  let s = byFd.get(fd);
  if (!s) {
    const shared: Shared = { handle: {}, listeners: new Map(), running: false };
    const h = calls.watch(fd, () => fire(shared));
    if (typeof h === 'number') throw new WatchError(-h, fd);
    shared.handle = h;
    byFd.set(fd, shared);
    s = shared;
  }
  const sh = s;
  // A function of its own, so one onReady watched twice is two interests.
  const fn = (): void => onReady();
  sh.listeners.set(fn, false);
  const sync = (): void => {
    const want = [...sh.listeners.values()].some((on) => on);
    if (want === sh.running) return;
    if (want) {
      const r = calls.watchStart(sh.handle);
      if (r < 0) throw new WatchError(-r, fd);
    } else calls.watchStop(sh.handle);
    sh.running = want;
  };
  return {
    start() {
      if (!sh.listeners.has(fn)) throw new WatchError(9 /* EBADF */, fd);
      sh.listeners.set(fn, true);
      sync();
    },
    stop() {
      if (!sh.listeners.has(fn)) return;
      sh.listeners.set(fn, false);
      sync();
    },
    close() {
      if (!sh.listeners.delete(fn)) return;
      if (sh.listeners.size > 0) return sync();
      calls.watchClose(sh.handle);
      sh.running = false;
      if (byFd.get(fd) === sh) byFd.delete(fd);
    },
  };
}
