import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { BpfMap } from '../map/map.js';
import { resolveMode, walkChunks } from '../map/walk.js';
import { errno } from '../sys/errno.js';
import { selectorText, type MapSelector } from './config.js';

/** Receives each batch of a read: count keys and values packed at the map's sizes (buffers are reused). */
export type ChunkVisitor = (keys: Buffer, values: Buffer, count: number) => void;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Reads whole maps batch by batch into buffers kept from one read (and map) to the next. */
export class BatchReader {
  private keys = Buffer.alloc(0);
  private values = Buffer.alloc(0);
  private cursor = Buffer.alloc(0);
  private next = Buffer.alloc(0);
  private capacity = 0;

  constructor(private readonly batchSize: number) {}

  private ensure(count: number, keySize: number, valueBytes: number, cursorSize: number): void {
    if (this.keys.length < count * keySize) this.keys = Buffer.allocUnsafe(count * keySize);
    if (this.values.length < count * valueBytes) this.values = Buffer.allocUnsafe(count * valueBytes);
    if (this.cursor.length < cursorSize) {
      this.cursor = Buffer.alloc(cursorSize);
      this.next = Buffer.alloc(cursorSize);
    }
    this.capacity = count;
  }

  /**
   * Reads every entry with LOOKUP_BATCH into the reused buffers, handing each batch to visit and
   * yielding to the event loop between batches. Map types without batch lookup are walked key by
   * key. Returns the number of entries read.
   */
  async read(map: BpfMap, visit: ChunkVisitor): Promise<number> {
    let n = 0;
    if (resolveMode(map, { mode: 'auto' }) === 'per-element') {
      const chunks = walkChunks(map, 'per-element', { batchSize: this.batchSize });
      for (const c of chunks) {
        visit(c.keys, c.values, c.count);
        n += c.count;
        await tick();
      }
      return n;
    }
    const { kernel, keySize, valueBytes, cursorSize } = map;
    let count = Math.max(this.capacity, Math.min(this.batchSize, Math.max(map.maxEntries, 1)));
    this.ensure(count, keySize, valueBytes, cursorSize);
    // A hash walk returns at least one entry per call until the end; an array's, up to max_entries.
    const maxCalls = map.maxEntries + 2;
    let started = false;
    for (let calls = 0; ; calls++) {
      if (calls > maxCalls) throw new Error(`map ${map.label()}: the batch walk did not end after ${maxCalls} calls`);
      let r;
      try {
        r = kernel.lookupBatch(map.fd, {
          inBatch: started ? this.cursor.subarray(0, cursorSize) : null,
          outBatch: this.next.subarray(0, cursorSize),
          keys: this.keys,
          values: this.values,
          count,
          elemFlags: 0,
          flags: 0,
        });
      } catch (e) {
        // A bucket holds more entries than the batch: grow (kept for the next scrapes) and retry.
        if (e instanceof BpfError && e.errno === errno.ENOSPC && count < map.maxEntries) {
          count = Math.min(count * 2, map.maxEntries);
          this.ensure(count, keySize, valueBytes, cursorSize);
          continue;
        }
        throw map.annotate(e);
      }
      if (r.count > 0) visit(this.keys, this.values, r.count);
      n += r.count;
      if (r.done) return n;
      this.next.copy(this.cursor, 0, 0, cursorSize);
      started = true;
      await tick();
    }
  }
}

/**
 * A map the exporter reads, found again by its selector at every scrape: a map replaced under the
 * same pin (or name) is picked up, and one that is gone is an error rather than a map kept alive
 * by the exporter's fd.
 */
export class MapSource {
  readonly text: string;
  /** Id of the map the last open found (0 before any). */
  id = 0;
  /** Times the selector led to a different map than the scrape before. */
  replaced = 0;
  readonly reader: BatchReader;

  constructor(
    readonly selector: MapSelector,
    private readonly kernel: Kernel,
    batchSize: number,
  ) {
    this.text = selectorText(selector);
    this.reader = new BatchReader(batchSize);
  }

  /** Opens the map the selector names now; the caller closes it after the scrape. */
  open(): BpfMap {
    const s = this.selector;
    // Raw bytes: the exporter decodes by offsets (found in BTF once per map, not at every scrape).
    const opts = { kernel: this.kernel, raw: true as const };
    const map = s.kind === 'id' ? BpfMap.fromId(s.id, opts) : s.kind === 'pinned' ? BpfMap.openPinned(s.path, { ...opts, readOnly: true }) : BpfMap.fromName(s.name, opts);
    if (this.id !== 0 && map.id !== this.id) this.replaced++;
    this.id = map.id;
    return map;
  }
}
