import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { BPF_MAP_LOOKUP_BATCH, type BPF_MAP_LOOKUP_AND_DELETE_BATCH } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { checkCount } from './batch.js';
import { internal, type MapInternals } from './internal.js';

export type LookupCmd = typeof BPF_MAP_LOOKUP_BATCH | typeof BPF_MAP_LOOKUP_AND_DELETE_BATCH;

/**
 * What a batch walk needs of a map: a BpfMap, or the stand-in a parallel dump's worker thread
 * makes for the same fd (map/dump-worker.ts).
 */
export interface WalkedMap {
  readonly kernel: Kernel;
  readonly fd: number;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueBytes: number;
  readonly [internal]: Pick<MapInternals<unknown, unknown>, 'cursorSize' | 'label' | 'annotate'>;
}

/**
 * Where a batch walk's calls write their keys and values: the one thing that differs between the
 * walks (reused chunk buffers, the free room of a dump's output, buffers kept across scrapes).
 */
export interface BatchTarget {
  /** Where the next call writes: valid after place(). */
  readonly keys: Buffer;
  readonly values: Buffer;
  /**
   * Makes room for a call of up to `batch` entries and says how many it may ask for (1..batch).
   * `full`: a smaller ask just failed with ENOSPC, so this one must take the whole batch.
   */
  place(batch: number, full: boolean): number;
  /** The call wrote n entries where place() put them. */
  took(n: number): void;
}

/**
 * The kernel's batch-read contract, once: the cursor pair (no in_batch on the first call), ENOENT
 * with a partial count as the end, ENOSPC (a hash bucket larger than the call's count) as a retry
 * with a larger batch, and a guard against a walk that would never end.
 */
export class BatchWalk {
  private readonly cursor: Buffer;
  private readonly next: Buffer;
  private started = false;
  private full = false;
  /** The kernel said ENOENT: the walk is over. */
  done = false;

  constructor(
    private readonly map: WalkedMap,
    private readonly cmd: LookupCmd,
    private readonly target: BatchTarget,
    /** Entries per call; grows on ENOSPC. */
    public batch: number,
    private readonly elemFlags: number,
    /** Where to start instead of the beginning: a cursor as the kernel would have returned it. */
    from: Buffer | null = null,
  ) {
    if (batch < 1) throw new RangeError('batchSize must be at least 1');
    this.cursor = Buffer.alloc(map[internal].cursorSize);
    this.next = Buffer.alloc(map[internal].cursorSize);
    if (from !== null) {
      from.copy(this.cursor);
      this.started = true;
    }
  }

  /** The kernel's cursor after the last call (overwritten by the next). */
  get position(): Buffer {
    return this.next;
  }

  /** One call (and its ENOSPC retries): the number of entries it wrote to the target. */
  step(): number {
    const { map, target } = this;
    for (;;) {
      const count = target.place(this.batch, this.full);
      const args = { inBatch: this.started ? this.cursor : null, outBatch: this.next, keys: target.keys, values: target.values, count, elemFlags: this.elemFlags, flags: 0 };
      let r;
      try {
        r = this.cmd === BPF_MAP_LOOKUP_BATCH ? map.kernel.lookupBatch(map.fd, args) : map.kernel.lookupAndDeleteBatch(map.fd, args);
      } catch (e) {
        if (e instanceof BpfError && e.errno === errno.ENOSPC && this.grow(count)) continue;
        throw map[internal].annotate(e);
      }
      this.full = false;
      target.took(r.count);
      if (r.done) {
        this.done = true;
        return r.count;
      }
      // A call that neither ends the walk nor moves the cursor would be repeated forever.
      if (r.count === 0 || (this.started && this.next.equals(this.cursor)))
        throw new Error(`map ${map[internal].label()}: the batch walk stopped advancing (a call returned ${r.count} entries and the same cursor)`);
      this.next.copy(this.cursor);
      this.started = true;
      return r.count;
    }
  }

  /**
   * After ENOSPC on a call that asked for count: whether to retry. A call the target shortened is
   * retried with the whole batch; a whole batch doubles, up to max_entries (no bucket holds more).
   */
  private grow(count: number): boolean {
    if (count < this.batch) return (this.full = true);
    const limit = Math.max(this.map.maxEntries, 1);
    if (this.batch >= limit) return false;
    this.batch = checkCount(this.map, Math.min(this.batch * 2, limit), 'batchSize');
    return true;
  }
}
