import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { BpfMap } from '../map/map.js';
import type { CliIo } from './io.js';

/** Maps with fewer slots than this read too fast for a bar to be worth drawing. */
export const PROGRESS_MIN_ENTRIES = 10_000;

export interface Progress {
  /** entries read so far; cursor: the batch cursor after them, when the walk has one. */
  update(entries: number, cursor: Buffer | undefined): void;
  /** Ends the bar's line: at 100% when the walk is complete (the default), else where it got. */
  stop(complete?: boolean): void;
}

const HASHES = new Set(['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash']);
const ARRAYS = new Set(['array', 'percpu_array']);

function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * How far a walk is, from 0 to 1. Hash walks resume at a bucket index, and the kernel has
 * roundup_pow_of_two(max_entries) buckets; array walks at the last index read. Other walks only
 * know how many entries they have read, against max_entries.
 */
export function walkFraction(map: BpfMap<unknown, unknown>, entries: number, cursor: Buffer | undefined): number {
  const max = Math.max(map.maxEntries, 1);
  if (cursor && cursor.length >= 4) {
    if (HASHES.has(map.typeName)) return Math.min(cursor.readUInt32LE(0) / roundUpPow2(max), 1);
    if (ARRAYS.has(map.typeName)) return Math.min((cursor.readUInt32LE(0) + 1) / max, 1);
  }
  return Math.min(entries / max, 0.99);
}

const NONE: Progress = { update() {}, stop() {} };

// cli-progress (CommonJS) is required only when a bar is drawn: a dump into a pipe never loads it.
const require = createRequire(import.meta.url);

/**
 * A bar on stderr for a walk of map, drawn only when stderr is a terminal, stdout is not (a bar
 * redrawn among the rows printed on the same terminal would garble them) and the map is large.
 */
export function progressFor(map: BpfMap<unknown, unknown>, label: string, enabled: boolean, io: Pick<CliIo, 'stdout' | 'stderr'>): Progress {
  if (!enabled || !io.stderr.isTTY || io.stdout.isTTY || map.maxEntries < PROGRESS_MIN_ENTRIES) return NONE;
  const cliProgress = require('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: `${label} [{bar}] {percentage}% | {entries} entries | {duration_formatted}`,
      barsize: 30,
      hideCursor: false,
      clearOnComplete: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const steps = 1000;
  bar.start(steps, 0, { entries: 0 });
  // A reader that goes away exits the process mid-walk: the bar then shows how far it got and
  // ends its line, so the shell's next output starts on a line of its own.
  const onExit = (): void => bar.stop();
  process.once('exit', onExit);
  return {
    update(entries, cursor) {
      bar.update(Math.round(walkFraction(map, entries, cursor) * steps), { entries });
    },
    stop(complete = true) {
      process.off('exit', onExit);
      if (complete) bar.update(steps);
      bar.stop();
    },
  };
}
