import type { Kernel } from '../kernel/kernel.js';
import { BatchBuffers } from '../map/batch.js';
import { BatchWalk } from '../map/batch-walk.js';
import type { BpfMap } from '../map/map.js';
import { mapSelectorText, openSelected, type MapSelector } from '../map/selector.js';
import { resolveMode, walkChunks } from '../map/walk.js';
import { BPF_MAP_LOOKUP_BATCH } from '../sys/constants.js';

/** Receives each batch of a read: count keys and values packed at the map's sizes (buffers are reused). */
export type ChunkVisitor = (keys: Buffer, values: Buffer, count: number) => void;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Reads whole maps batch by batch into buffers kept from one read (and map) to the next. */
export class BatchReader {
  private readonly bufs = new BatchBuffers(0, 0);
  /** The batch the reads have grown to (on ENOSPC), kept for the next scrapes. */
  private grown = 0;

  constructor(private readonly batchSize: number) {}

  /**
   * Reads every entry with LOOKUP_BATCH into the reused buffers, handing each batch to visit and
   * yielding to the event loop between batches. Map types without batch lookup are walked key by
   * key. Returns the number of entries read. An abort of signal stops the read at its next yield
   * (signal.reason is thrown).
   */
  async read(map: BpfMap, visit: ChunkVisitor, signal?: AbortSignal): Promise<number> {
    let n = 0;
    if (resolveMode(map, { mode: 'auto' }) === 'per-element') {
      const chunks = walkChunks(map, 'per-element', { batchSize: this.batchSize });
      for (const c of chunks) {
        visit(c.keys, c.values, c.count);
        n += c.count;
        await tick();
        signal?.throwIfAborted();
      }
      return n;
    }
    this.bufs.setSizes(map.keySize, map.valueBytes);
    const walk = new BatchWalk(map, BPF_MAP_LOOKUP_BATCH, this.bufs, Math.max(this.grown, Math.min(this.batchSize, Math.max(map.maxEntries, 1))), 0);
    for (;;) {
      const count = walk.step();
      this.grown = walk.batch;
      if (count > 0) visit(this.bufs.keys, this.bufs.values, count);
      n += count;
      if (walk.done) return n;
      await tick();
      signal?.throwIfAborted();
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
    this.text = mapSelectorText(selector);
    this.reader = new BatchReader(batchSize);
  }

  /** Opens the map the selector names now; the caller closes it after the scrape. */
  open(): BpfMap {
    // Raw bytes: the exporter decodes by offsets (found in BTF once per map, not at every scrape).
    const map = openSelected(this.selector, { kernel: this.kernel, raw: true, readOnly: true });
    if (this.id !== 0 && map.id !== this.id) this.replaced++;
    this.id = map.id;
    return map;
  }
}
