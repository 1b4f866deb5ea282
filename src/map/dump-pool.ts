// The worker threads of parallel dumps: started on first use, kept for later dumps, never holding
// the process open. The calling thread walks a range itself and then blocks (Atomics.wait) until
// the workers have walked theirs, so dump() stays synchronous.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { RangeResult, RangeSpec } from './range-walk.js';

/** The worker's flag: BUSY while it starts or walks, DONE when it is ready or has answered. */
const BUSY = 0;
export const DONE = 1;

/**
 * A worker's part of a parallel dump: the map's fd and sizes, every range with its region of the
 * shared output, and the counter of ranges taken (Atomics.add), from which the worker takes ranges
 * until none is left.
 */
export interface Job {
  fd: number;
  label: string;
  maxEntries: number;
  keySize: number;
  valueBytes: number;
  cursorSize: number;
  specs: RangeSpec[];
  /** Per range: its first entry in the output, and the entries its region holds. */
  regions: number[];
  capacities: number[];
  /** An Int32Array's memory: the next range to take. */
  next: SharedArrayBuffer;
  keys: SharedArrayBuffer;
  values: SharedArrayBuffer;
  /** Where the output starts in keys and values (bytes). */
  keyOffset: number;
  valueOffset: number;
  batch: number;
  elemFlags: number;
}

export interface WorkerError {
  message: string;
  cmd?: number;
  errno?: number;
  count?: number;
}

/** The ranges a worker took, each with what it read. */
export type Reply = { results: Array<{ range: number; result: RangeResult }> } | { error: WorkerError };

/** How long a new worker may take to load before parallel dumps give up on threads. */
const START_TIMEOUT_MS = 10_000;

class Slot {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly flag = new Int32Array(new SharedArrayBuffer(4));

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./dump-worker.js', import.meta.url), {
      workerData: { port: port2, state: this.flag.buffer },
      transferList: [port2],
      // The worker closes fds that the bpf() calls made (the per-CPU count check's probe map),
      // which Node's fd tracking would warn about.
      trackUnmanagedFds: false,
    });
    this.worker.unref();
    // A worker that fails to load or dies is noticed by its flag staying BUSY; the event is
    // handled so it never becomes an uncaught error.
    this.worker.on('error', () => {});
  }

  /** Waits until the worker has answered or is ready; false after timeoutMs. */
  wait(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(this.flag, 0) === BUSY) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.flag, 0, BUSY, left);
    }
    return true;
  }

  start(job: Job): void {
    Atomics.store(this.flag, 0, BUSY);
    this.port.postMessage(job);
  }

  /** The worker's answer to the job it was started with (blocks until it comes). */
  reply(): Reply {
    this.wait(Infinity);
    // The worker posts before it raises the flag; the message is then already queued.
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m !== undefined) return m.message as Reply;
      Atomics.wait(this.flag, 0, BUSY, 1);
    }
  }
}

const slots: Slot[] = [];
let broken = false;

/** n ready workers, started as needed; undefined when workers cannot be started here. */
export function workers(n: number): Slot[] | undefined {
  if (broken) return undefined;
  const fresh: Slot[] = [];
  try {
    while (slots.length + fresh.length < n) fresh.push(new Slot());
  } catch {
    broken = true;
  }
  // Started together, so they load at the same time.
  for (const s of fresh) if (broken || !s.wait(START_TIMEOUT_MS)) broken = true;
  if (broken) {
    for (const s of fresh) void s.worker.terminate();
    return undefined;
  }
  slots.push(...fresh);
  return slots.slice(0, n);
}
