import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { BpfMap } from '../map/map.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { escapeLabel } from './decoders.js';
import type { Collector } from './exporter.js';
import { family, type Family } from './exposition.js';
import { BatchReader } from './source.js';

/** Arrays hold every index from creation on: their entry count is max_entries without a walk. */
const ALWAYS_FULL = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY]);

/**
 * `bpfmap export --maps`: every map's metadata, so fleets can alert on maps about to fill up.
 * Entries are counted with batch lookups (the per-element walk where the type has none); maps
 * whose type cannot be walked (ring buffers, queues, ...) have no entries or fill ratio.
 */
export class MapsCollector implements Collector {
  private readonly reader: BatchReader;
  private errors = 0;

  constructor(
    private readonly kernel: Kernel,
    batchSize: number,
  ) {
    this.reader = new BatchReader(batchSize);
  }

  /** Reads every map's metrics, for one scrape; an abort of signal ends it early. */
  async collect(signal?: AbortSignal): Promise<Family[]> {
    const t0 = process.hrtime.bigint();
    const max: [string, number][] = [];
    const entries: [string, number][] = [];
    const fill: [string, number][] = [];
    const memory: [string, number][] = [];
    const sizes: [string, number][] = [];
    let id = 0;
    for (;;) {
      const next = this.kernel.nextMapId(id);
      if (next === null) break;
      id = next;
      let map: BpfMap;
      try {
        map = BpfMap.fromId(id, { kernel: this.kernel, raw: true });
      } catch (e) {
        // Freed between the id walk and the open.
        if (e instanceof BpfError && e.errno === errno.ENOENT) continue;
        this.errors++;
        continue;
      }
      try {
        const labels = `id="${map.id}",name="${escapeLabel(map.name)}",type="${map.typeName}"`;
        max.push([labels, map.maxEntries]);
        memory.push([labels, this.kernel.mapMemory(map.fd)]);
        sizes.push([`${labels},part="key"`, map.keySize], [`${labels},part="value"`, map.valueSize]);
        let n: number | undefined;
        if (ALWAYS_FULL.has(map.type)) n = map.maxEntries;
        else {
          try {
            n = await this.reader.read(map, () => {}, signal);
          } catch (e) {
            if (signal?.aborted) throw e;
            n = undefined;
          }
        }
        if (n !== undefined) {
          entries.push([labels, n]);
          if (map.maxEntries > 0) fill.push([labels, n / map.maxEntries]);
        }
      } finally {
        map.close();
      }
    }
    return [
      family('bpfmap_map_max_entries', 'max_entries of a BPF map.', 'gauge', max),
      family('bpfmap_map_entries', 'Entries in a BPF map (arrays: max_entries; absent for types that cannot be walked).', 'gauge', entries),
      family('bpfmap_map_fill_ratio', 'Entries over max_entries: 1 is full, and hash maps refuse new keys.', 'gauge', fill),
      family('bpfmap_map_memory_bytes', 'Memory the kernel charges for a BPF map (fdinfo memlock).', 'gauge', memory),
      family('bpfmap_map_size_bytes', 'Bytes of a key or of a value (per CPU for per-CPU maps).', 'gauge', sizes),
      family('bpfmap_export_errors_total', 'Maps that could not be opened.', 'counter', [['', this.errors]]),
      family('bpfmap_export_scrape_duration_seconds', 'Time this scrape took to read every map.', 'gauge', [['', Number(process.hrtime.bigint() - t0) / 1e9]]),
    ];
  }
}
