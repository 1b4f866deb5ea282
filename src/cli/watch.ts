import type { Command } from 'commander';
import type { BpfMap } from '../map/map.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { CLI_BATCH } from './defaults.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { Screen } from './screen.js';
import { HEX_HELP, openMap, parseSelector, selectorText } from './selector.js';
import { viewOf } from './view.js';
import { deltas, histogramsText, histReader, scaleOf, withHistOptions, type Histogram, type HistOptions } from './histogram.js';
import { fieldReader, namedFieldReader, RAW_FIELD, type FieldReader } from './value-field.js';
import { collect, DECODE_HELP, parseDecode } from './decode.js';

interface Row {
  index: number;
  key: string;
  value: number;
  rate: number | undefined;
}

export interface Frame {
  count: number;
  readMs: number;
  mode: string;
  total: number;
  totalRate: number | undefined;
  top: Row[];
}

/** Keeps what the previous read saw, to turn values into per-second rates. */
export class Watcher {
  private prev = new Map<string, number>();
  private prevTotal: number | undefined;
  private prevAt = 0;

  constructor(
    private readonly map: BpfMap<unknown, unknown>,
    private readonly field: FieldReader,
    private readonly top: number,
    private readonly by: 'value' | 'rate',
    private readonly batchSize: number,
    private readonly showKey: (keys: Buffer, off: number) => string,
  ) {}

  read(): Frame {
    const t0 = performance.now();
    const d = this.map.dump({ batchSize: this.batchSize });
    const readMs = performance.now() - t0;
    const dt = this.prevAt ? (t0 - this.prevAt) / 1000 : 0;
    const next = new Map<string, number>();
    const best: Row[] = [];
    let total = 0;
    const { keySize, valueBytes } = this.map;
    for (let i = 0; i < d.count; i++) {
      const key = d.keys.toString('hex', i * keySize, (i + 1) * keySize);
      const value = this.field(d.values, i * valueBytes);
      total += value;
      next.set(key, value);
      const before = this.prev.get(key);
      const rate = dt > 0 && before !== undefined ? (value - before) / dt : undefined;
      const score = this.by === 'rate' ? rate ?? -Infinity : value;
      const last = best[best.length - 1];
      if (best.length < this.top || (last && score > (this.by === 'rate' ? last.rate ?? -Infinity : last.value))) {
        const row = { index: i, key, value, rate };
        const at = best.findIndex((r) => score > (this.by === 'rate' ? r.rate ?? -Infinity : r.value));
        best.splice(at < 0 ? best.length : at, 0, row);
        if (best.length > this.top) best.pop();
      }
    }
    const totalRate = dt > 0 && this.prevTotal !== undefined ? (total - this.prevTotal) / dt : undefined;
    this.prev = next;
    this.prevTotal = total;
    this.prevAt = t0;
    for (const r of best) r.key = this.showKey(d.keys, r.index * keySize);
    return { count: d.count, readMs, mode: d.mode, total, totalRate, top: best };
  }
}

function num(n: number | undefined, digits = 0): string {
  return n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function frameLines(title: string, field: string, intervalMs: number, f: Frame, columns: number): string[] {
  const keyWidth = Math.max(8, Math.min(f.top.reduce((w, r) => Math.max(w, r.key.length), 3), columns - 40));
  const cut = (k: string): string => (k.length > keyWidth ? `${k.slice(0, keyWidth - 1)}~` : k.padEnd(keyWidth));
  const lines = [
    `bpfmap watch  ${title}  every ${intervalMs / 1000}s  (q to quit)`,
    `entries ${num(f.count)}  read ${f.readMs.toFixed(1)} ms (${f.mode})  total ${field} ${num(f.total)}  ${f.totalRate === undefined ? '' : `${num(f.totalRate, 1)}/s`}`,
    '',
    `${'#'.padStart(3)}  ${'KEY'.padEnd(keyWidth)}  ${field.toUpperCase().padStart(16)}  ${'RATE/s'.padStart(14)}`,
  ];
  f.top.forEach((r, i) => lines.push(`${String(i + 1).padStart(3)}  ${cut(r.key)}  ${num(r.value).padStart(16)}  ${num(r.rate, 1).padStart(14)}`));
  return lines;
}

/** watch --hist: each frame the histograms of what the last interval added (the first: everything so far). */
async function watchHist(map: BpfMap<unknown, unknown>, o: HistOptions & { batch: number }, seconds: number, io: CliIo): Promise<void> {
  const scale = scaleOf(o);
  const reader = histReader(map, o);
  const label = o.label ?? reader.bucketName;
  if (!io.stdout.isTTY) throw new UsageError('watch draws on a terminal, and stdout is not one: use bpfmap hist for pipes and files');
  const screen = new Screen(io.stdout, io.stdin, io.signals);
  let before: Histogram[] | undefined;
  screen.enter();
  try {
    while (!screen.quitting) {
      const d = map.dump({ batchSize: o.batch });
      const now = reader.read(d.keys, d.values, d.count);
      const shown = deltas(now, before);
      const what = before ? `counts in the last ${seconds}s` : 'counts so far';
      before = now;
      const head = [`bpfmap watch --hist  id ${map.id}${map.name ? ` "${map.name}"` : ''}  every ${seconds}s  (q to quit)`, `${what}, ${scale.kind} buckets of ${reader.bucketName}`, ''];
      screen.draw([...head, ...(shown.length === 0 ? ['(the map is empty)'] : histogramsText(shown, scale, label, screen.columns))]);
      await screen.sleep(seconds * 1000);
    }
  } finally {
    screen.leave();
  }
}

export function watchCommand(io: CliIo): Command {
  return withKernel(withHistOptions(withMapArgs(newCommand('watch', 'a live full-screen view: top entries by a value field, per-second rates, entry count and read time', [
    'bpfmap watch pinned /sys/fs/bpf/flows --top 20',
    'bpfmap watch id 42 --field u64@8 --sort rate --interval 0.5',
    'bpfmap watch pinned /sys/fs/bpf/runq_lat --hist --label usecs',
  ]))))
    .option('--hist', 'draw the map as histograms (see bpfmap hist; --field is the count), each frame the counts of the last interval')
    .option('--top <n>', 'entries shown', integer(1), 20)
    .option('--field <field>', 'the value field to rank by: a field name of a map with BTF (default: its first number), or u8|u16|u32|u64@OFFSET in bytes (default: the whole value, or its first 8 bytes); per-CPU values are summed')
    .option('--sort <by>', 'value (the field) or rate (its change per second)', 'value')
    .option('--interval <seconds>', 'seconds between reads', '1')
    .option('--batch <n>', 'entries per LOOKUP_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .option('--decode <fields>', DECODE_HELP, collect)
    .addHelpText('after', '\nKeys: q, Esc or Ctrl-C quit and give the terminal back; so do SIGTERM and SIGHUP, with exit code 0.\n')
    .action(async (by: string, which: string, o: HistOptions & { top: number; field?: string; sort: string; interval: string; batch: number; hex?: boolean; decode?: string[]; hist?: boolean; kernel?: string }) => {
      const sel = parseSelector(by, which);
      if (o.sort !== 'value' && o.sort !== 'rate') throw new UsageError(`--sort must be value or rate, got "${o.sort}"`);
      const seconds = Number(o.interval);
      if (!Number.isFinite(seconds) || seconds < 0.05 || seconds > 3600) throw new UsageError(`--interval must be seconds from 0.05 to 3600, got "${o.interval}"`);
      using map = openMap(sel, kernelFrom(o.kernel, io), { readOnly: true, raw: o.hex === true });
      // Awaited here, so the map stays open (using) while the screen runs.
      if (o.hist) return await watchHist(map, { ...o, value: o.field }, seconds, io);
      const elem = map.cpuCodec ?? map.valueCodec;
      const typed = o.hex !== true && elem.name !== `${elem.size} bytes`;
      const field = !typed || (o.field !== undefined && RAW_FIELD.test(o.field)) ? fieldReader(map, o.field) : namedFieldReader(map, elem, o.field);
      const keys = viewOf(map, 'each', !typed, parseDecode(o.decode));
      const showKey = (b: Buffer, off: number): string => {
        const text = keys.keyText(b, off);
        return text.startsWith('"') ? (JSON.parse(text) as string) : text;
      };
      if (!io.stdout.isTTY) throw new UsageError('watch draws on a terminal, and stdout is not one: use dump for pipes and files');
      const watcher = new Watcher(map, field.read, o.top, o.sort, o.batch, showKey);
      const title = `${selectorText(sel)} (id ${map.id}${map.name ? ` "${map.name}"` : ''}, ${map.typeName})`;
      const screen = new Screen(io.stdout, io.stdin, io.signals);
      screen.enter();
      try {
        while (!screen.quitting) {
          screen.draw(frameLines(title, field.name, seconds * 1000, watcher.read(), screen.columns));
          await screen.sleep(seconds * 1000);
        }
      } finally {
        screen.leave();
      }
    });
}
