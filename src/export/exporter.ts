import type { Kernel } from '../kernel/kernel.js';
import type { BpfMap } from '../map/map.js';
import { internal } from '../map/internal.js';
import { resolveMode } from '../map/walk.js';
import { fieldsOf } from './btf-fields.js';
import { BindError, bindMetric, type BoundMetric, type FieldResolver, type MapLayout } from './bind.js';
import type { ExportConfig, MetricSpec } from './config.js';
import { escapeLabel } from './decoders.js';
import { family, type Family } from './exposition.js';
import { MapSource } from './source.js';

/** Anything that produces the families of one scrape. */
export interface Collector {
  /** The families of one scrape; an abort of signal (the server closing) ends it early, rejecting with signal.reason. */
  collect(signal?: AbortSignal): Promise<Family[]>;
}

/** Finds a map's BTF members; undefined when the map has no BTF. */
export type FieldsOf = (map: BpfMap) => FieldResolver | undefined;

/** Options of the Exporter constructor. */
export interface ExporterOptions {
  kernel: Kernel;
  /** One line per problem (a map that cannot be read, and when it reads again); stderr by default. */
  log?: (line: string) => void;
  /** How `field:` names are found: by default in the map's BTF (btf-fields.ts). */
  fields?: FieldsOf;
}

interface MapState {
  source: MapSource;
  specs: MetricSpec[];
  /** Metrics bound to the map with this id. */
  boundId: number;
  bound: BoundMetric[];
  errors: number;
  lastError: string | undefined;
  readSeconds: number;
  /** Entries of the last scrape; undefined when it could not read the map (no series then). */
  entries: number | undefined;
}

export function layoutOf(map: BpfMap, fields: FieldResolver | undefined): MapLayout {
  const l: MapLayout = {
    keySize: map.keySize,
    valueSize: map.valueSize,
    valueBytes: map.valueBytes,
    perCpu: map.perCpu,
    cpus: map.cpus,
    label: map[internal].label(),
    uniqueKeys: resolveMode(map, { mode: 'auto' }) !== 'per-element',
  };
  if (fields) l.fields = fields;
  return l;
}

/**
 * Turns maps into metrics as the config says. Each scrape opens every map again (so replaced
 * maps are followed), reads it once with batch lookups for all the metrics it feeds, and turns any
 * failure into bpfmap_export_errors_total{map} and a log line: the other maps are still served.
 */
export class Exporter implements Collector {
  private readonly maps: MapState[] = [];
  private readonly dropped = new Map<string, number>();
  private readonly log: (line: string) => void;

  constructor(
    config: ExportConfig,
    private readonly opts: ExporterOptions,
  ) {
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
    const by = new Map<string, MapState>();
    for (const spec of config.metrics) {
      const source = new MapSource(spec.map, opts.kernel, config.batchSize);
      let st = by.get(source.text);
      if (!st) {
        st = { source, specs: [], boundId: 0, bound: [], errors: 0, lastError: undefined, readSeconds: 0, entries: undefined };
        by.set(source.text, st);
        this.maps.push(st);
      }
      st.specs.push(spec);
      this.dropped.set(spec.name, 0);
    }
  }

  /**
   * Opens and binds every map once, before serving: a config that does not fit a map is thrown
   * (a BindError); a map that cannot be opened is logged, and tried again at every scrape.
   */
  check(): void {
    for (const st of this.maps) {
      try {
        const map = st.source.open();
        try {
          this.bind(st, map);
        } finally {
          map.close();
        }
      } catch (e) {
        if (e instanceof BindError) throw e;
        this.problem(st, e);
      }
    }
  }

  /** Logs a map's problem once, not at every scrape while it lasts. */
  private problem(st: MapState, e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg !== st.lastError) this.log(`bpfmap export: ${st.source.text}: ${msg}`);
    st.lastError = msg;
  }

  private bind(st: MapState, map: BpfMap): void {
    if (st.boundId === map.id) return;
    const layout = layoutOf(map, (this.opts.fields ?? fieldsOf)(map));
    st.bound = st.specs.map((s) => bindMetric(s, layout));
    st.boundId = map.id;
  }

  private async readMap(st: MapState, out: Family[], signal: AbortSignal | undefined): Promise<void> {
    const t0 = process.hrtime.bigint();
    try {
      const map = st.source.open();
      try {
        this.bind(st, map);
        const bound = st.bound;
        st.entries = await st.source.reader.read(
          map,
          (k, v, n) => {
            for (const m of bound) m.add(k, v, n);
          },
          signal,
        );
      } finally {
        map.close();
      }
      for (const m of st.bound) {
        const { family, dropped } = m.finish();
        out.push(family);
        this.dropped.set(m.spec.name, dropped);
      }
      if (st.lastError !== undefined) this.log(`bpfmap export: ${st.source.text}: reading again (map id ${st.source.id})`);
      st.lastError = undefined;
    } catch (e) {
      // Partial sums of a failed read must not leak into the next scrape.
      for (const m of st.bound) m.finish();
      // An abandoned scrape is no map's fault.
      if (signal?.aborted) throw signal.reason;
      st.boundId = 0;
      // A count from before the map went away would be reported as if it were read now.
      st.entries = undefined;
      st.errors++;
      this.problem(st, e);
    } finally {
      st.readSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    }
  }

  /** Selectors of the maps the last collect could not read (in config order). */
  get failed(): string[] {
    return this.maps.filter((st) => st.entries === undefined).map((st) => st.source.text);
  }

  /** How many metrics the config defines. */
  get metricCount(): number {
    return this.dropped.size;
  }

  /** How many maps the config reads (each selector once). */
  get mapCount(): number {
    return this.maps.length;
  }

  /** Reads every configured metric from its map, for one scrape; an abort of signal ends it early. */
  async collect(signal?: AbortSignal): Promise<Family[]> {
    const t0 = process.hrtime.bigint();
    const out: Family[] = [];
    for (const st of this.maps) await this.readMap(st, out, signal);
    const scrapeSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const label = (st: MapState): string => `map="${escapeLabel(st.source.text)}"`;
    const per = (f: (st: MapState) => number): [string, number][] => this.maps.map((st) => [label(st), f(st)]);
    const read = this.maps.flatMap((st): [string, number][] => (st.entries === undefined ? [] : [[label(st), st.entries]]));
    out.push(
      family('bpfmap_export_errors_total', 'Scrapes in which a map could not be read (see the exporter\'s log).', 'counter', per((st) => st.errors)),
      family('bpfmap_export_read_duration_seconds', 'Time the last scrape took to read a map, with batch lookups.', 'gauge', per((st) => st.readSeconds)),
      family('bpfmap_export_entries', 'Entries read from a map in the last scrape (no series when it could not be read).', 'gauge', read),
      family('bpfmap_export_map_id', 'Kernel id of the map a selector led to in the last scrape that found one.', 'gauge', per((st) => st.source.id)),
      family('bpfmap_export_map_replaced_total', 'Times a selector led to a different map (reloaded program, new pin).', 'counter', per((st) => st.source.replaced)),
      family('bpfmap_export_series_dropped', 'Series left out of a metric in the last scrape by its max_series limit (the smallest values).', 'gauge',
        [...this.dropped].map(([name, n]) => [`metric="${name}"`, n])),
      family('bpfmap_export_scrape_duration_seconds', 'Time this scrape took to read and convert every map.', 'gauge', [['', scrapeSeconds]]),
    );
    return out;
  }
}
