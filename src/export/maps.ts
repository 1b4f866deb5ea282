import { readFileSync } from 'node:fs';
import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { BpfMap } from '../map/map.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { escapeLabel } from './decoders.js';
import type { Collector } from './exporter.js';
import type { Family, Series } from './exposition.js';
import { BatchReader } from './source.js';

/** Arrays hold every index from creation on: their entry count is max_entries without a walk. */
const ALWAYS_FULL = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY]);

/**
 * Bytes the kernel charges for the map (`memlock` in /proc/self/fdinfo, the kernel's own
 * estimate of its memory since 6.4); an estimate from the sizes where there is no fdinfo (the
 * emulated kernel).
 */
function memoryOf(kernel: Kernel, map: BpfMap): number {
  if (kernel.kind === 'linux') {
    try {
      const m = /^memlock:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${map.fd}`, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // fdinfo unreadable: fall back to the estimate below.
    }
  }
  return map.maxEntries * (((map.keySize + 7) & ~7) + ((map.valueBytes + 7) & ~7));
}

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

  async collect(): Promise<Family[]> {
    const t0 = process.hrtime.bigint();
    const max: Series[] = [];
    const entries: Series[] = [];
    const fill: Series[] = [];
    const memory: Series[] = [];
    const sizes: Series[] = [];
    let id = 0;
    for (;;) {
      const next = this.kernel.nextMapId(id);
      if (next === null) break;
      id = next;
      let map: BpfMap;
      try {
        map = BpfMap.fromId(id, { kernel: this.kernel });
      } catch (e) {
        // Freed between the id walk and the open.
        if (e instanceof BpfError && e.errno === errno.ENOENT) continue;
        this.errors++;
        continue;
      }
      try {
        const labels = `id="${map.id}",name="${escapeLabel(map.name)}",type="${map.typeName}"`;
        max.push({ labels, value: map.maxEntries });
        memory.push({ labels, value: memoryOf(this.kernel, map) });
        sizes.push({ labels: `${labels},part="key"`, value: map.keySize }, { labels: `${labels},part="value"`, value: map.valueSize });
        let n: number | undefined;
        if (ALWAYS_FULL.has(map.type)) n = map.maxEntries;
        else {
          try {
            n = await this.reader.read(map, () => {});
          } catch {
            n = undefined;
          }
        }
        if (n !== undefined) {
          entries.push({ labels, value: n });
          if (map.maxEntries > 0) fill.push({ labels, value: n / map.maxEntries });
        }
      } finally {
        map.close();
      }
    }
    return [
      { name: 'bpfmap_map_max_entries', help: 'max_entries of a BPF map.', type: 'gauge', series: max },
      { name: 'bpfmap_map_entries', help: 'Entries in a BPF map (arrays: max_entries; absent for types that cannot be walked).', type: 'gauge', series: entries },
      { name: 'bpfmap_map_fill_ratio', help: 'Entries over max_entries: 1 is full, and hash maps refuse new keys.', type: 'gauge', series: fill },
      { name: 'bpfmap_map_memory_bytes', help: 'Memory the kernel charges for a BPF map (fdinfo memlock).', type: 'gauge', series: memory },
      { name: 'bpfmap_map_size_bytes', help: 'Bytes of a key or of a value (per CPU for per-CPU maps).', type: 'gauge', series: sizes },
      { name: 'bpfmap_export_errors_total', help: 'Maps that could not be opened.', type: 'counter', series: [{ labels: '', value: this.errors }] },
      { name: 'bpfmap_export_scrape_duration_seconds', help: 'Time this scrape took to read every map.', type: 'gauge', series: [{ labels: '', value: Number(process.hrtime.bigint() - t0) / 1e9 }] },
    ];
  }
}
