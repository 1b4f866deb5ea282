import type { Command } from 'commander';
import { constants } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { drainChunks, putBack, type PutBack } from '../map/drain.js';
import type { BpfMap } from '../map/map.js';
import type { Chunk } from '../map/walk.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { CLI_BATCH, FORMAT_HELP, PERCPU_DEFAULT, PERCPU_HELP } from './defaults.js';
import { CliError, EXIT_RUNTIME } from './errors.js';
import { entryWriter, formatOf, type EntryWriter } from './formats.js';
import type { CliIo, SignalSource } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { progressFor, type Progress } from './progress.js';
import { HEX_HELP, openMap, parseSelector, selectorText } from './selector.js';
import { sinkFor, WriteFailed, type Sink } from './sink.js';
import { perCpuModeOf, viewOf } from './view.js';
import { collect, DECODE_HELP, parseDecode } from './decode.js';

/** Signals that stop a drain: it puts back what it has not written, then exits 128 + the signal's number. */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'];

/**
 * A pipe is first given one entry, then 2, 4, ... each piece once the reader has taken the one
 * before: a reader that reads a block and keeps only its first line (head -1) was only given
 * that line. Pieces of this many bytes end the ramp; after it, text goes out as it comes.
 */
const RAMP_END = 1 << 16;

/** Drained entries whose text may not have reached the reader yet: the unsettled tail of a chunk. */
interface Held {
  keys: Buffer;
  values: Buffer;
  /** Where each entry's text ends in the output, in bytes from its start. */
  ends: number[];
  /** The first entry not known to be delivered. */
  from: number;
}

/**
 * Turns ends, offsets of characters in text, into offsets of bytes in the output, where text
 * starts at start after a prefix of ASCII: the same numbers when the text is all ASCII.
 */
function byteEnds(ends: number[], prefix: number, text: string, bytes: number, start: number): void {
  const ascii = bytes === prefix + text.length;
  let at = 0;
  let size = start + prefix;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] as number;
    size += ascii ? end - at : Buffer.byteLength(text.slice(at, end));
    ends[i] = size;
    at = end;
  }
}

/** Forgets the held entries whose text lies wholly within the first delivered bytes. */
function forget(held: Held[], delivered: number): void {
  while (held.length > 0) {
    const h = held[0] as Held;
    while (h.from < h.ends.length && (h.ends[h.from] as number) <= delivered) h.from++;
    if (h.from < h.ends.length) return;
    held.shift();
  }
}

function entries(n: number): string {
  return n === 1 ? '1 entry' : `${n} entries`;
}

function wereWritten(n: number): string {
  return `${entries(n)} ${n === 1 ? 'was' : 'were'} written`;
}

function putBackLine(where: string, undelivered: number, back: PutBack): string {
  if (undelivered === 0) return '';
  if (back.restored === undelivered) return `; ${entries(undelivered)} drained but not written ${undelivered === 1 ? 'was' : 'were'} put back into ${where}`;
  const why: string[] = [];
  if (back.recreated > 0) why.push(`${back.recreated} re-created by a program meanwhile (their new values are kept)`);
  for (const [name, n] of back.failed) why.push(`${n} failed with ${name} (lost)`);
  return `; of ${entries(undelivered)} drained but not written, ${back.restored} were put back into ${where} and ${undelivered - back.restored} could not be: ${why.join(', ')}`;
}

/**
 * Removes the entries of chunks and writes them to sink. Whatever stops it (the reader going
 * away, a failed write, a signal, a kernel error) stops the draining, and every entry removed
 * but not delivered is put back; it then throws a CliError saying so.
 */
async function drainTo(map: BpfMap<unknown, unknown>, where: string, chunks: Iterator<Chunk>, writer: EntryWriter, sink: Sink,
  progress: Progress, signals: SignalSource): Promise<void> {
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals): void => {
    signal ??= s;
  };
  // Held until the put-back is done: a second Ctrl-C must not kill it half-way.
  for (const s of SIGNALS) signals.on(s, onSignal);
  try {
    await drainOrPutBack(map, where, chunks, writer, sink, progress, () => signal);
  } finally {
    for (const s of SIGNALS) signals.off(s, onSignal);
  }
}

async function drainOrPutBack(map: BpfMap<unknown, unknown>, where: string, chunks: Iterator<Chunk>, writer: EntryWriter, sink: Sink,
  progress: Progress, signalled: () => NodeJS.Signals | undefined): Promise<void> {
  const stopped = (): boolean => signalled() !== undefined;
  const held: Held[] = [];
  let produced = 0;
  let removed = 0;
  let ramp = sink.isPipe ? 1 : Infinity;
  let prefix = writer.begin();
  let failure: unknown;
  try {
    draining: while (!stopped()) {
      let r;
      try {
        r = chunks.next();
      } catch (e) {
        failure = e;
        // What was drained before the error is written and waited for like at the end.
        await sink.taken(stopped);
        break;
      }
      if (r.done) {
        if (await sink.write(Buffer.from(prefix + writer.end()), stopped)) await sink.taken(stopped);
        break;
      }
      const { keys, values, count, cursor } = r.value;
      const { text, ends } = writer.chunkWithEnds(keys, values, count);
      const piece = Buffer.from(prefix + text);
      byteEnds(ends, prefix.length, text, piece.length, produced);
      prefix = '';
      const base = produced;
      produced += piece.length;
      held.push({ keys: Buffer.from(keys.subarray(0, count * map.keySize)), values: Buffer.from(values.subarray(0, count * map.valueBytes)), ends, from: 0 });
      removed += count;
      progress.update(removed, cursor);
      for (let i = 0, at = 0; i < count;) {
        const j = Math.min(count, i + ramp);
        const to = (ends[j - 1] as number) - base;
        if (ramp !== Infinity) await sink.taken(stopped);
        if (stopped() || !(await sink.write(piece.subarray(at, to), stopped))) break draining;
        if (ramp !== Infinity) ramp = to - at >= RAMP_END ? Infinity : ramp * 2;
        at = to;
        i = j;
      }
      forget(held, sink.delivered());
      await yieldToLoop();
    }
  } catch (e) {
    // A failed write, or anything unforeseen: what was drained is put back all the same.
    failure = e;
  } finally {
    chunks.return?.();
    progress.stop(failure === undefined && !stopped());
  }
  forget(held, sink.settle());
  let undelivered = 0;
  const back: PutBack = { restored: 0, recreated: 0, failed: new Map() };
  for (const h of held) {
    const n = h.ends.length - h.from;
    undelivered += n;
    const r = putBack(map, h.keys.subarray(h.from * map.keySize), h.values.subarray(h.from * map.valueBytes), n);
    back.restored += r.restored;
    back.recreated += r.recreated;
    for (const [name, k] of r.failed) back.failed.set(name, (back.failed.get(name) ?? 0) + k);
  }
  const written = removed - undelivered;
  const tail = putBackLine(where, undelivered, back);
  if (failure instanceof WriteFailed) {
    const what = failure.code === 'EPIPE' ? 'the output closed' : `writing the output failed (${failure.message})`;
    throw new CliError(`${what} after ${wereWritten(written)}${tail}`, EXIT_RUNTIME);
  }
  if (failure instanceof Error) {
    failure.message += `; ${entries(written)} drained before it ${written === 1 ? 'was' : 'were'} written${tail}`;
    throw failure;
  }
  if (failure !== undefined) throw failure;
  const signal = signalled();
  if (signal !== undefined)
    throw new CliError(`stopped by ${signal} after ${wereWritten(written)}${tail}`, 128 + (constants.signals[signal] ?? 0));
  if (undelivered > 0) throw new CliError(`the output closed after ${wereWritten(written)}${tail}`, EXIT_RUNTIME);
}

export function drainCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('drain', 'remove every entry with LOOKUP_AND_DELETE_BATCH and print what was removed (each exactly once)', [
    'bpfmap drain pinned /sys/fs/bpf/counts --format ndjson >> counts.log',
    'bpfmap drain id 42 --format json',
  ])))
    .option('--format <format>', FORMAT_HELP)
    .option('--percpu <mode>', PERCPU_HELP)
    .option('--batch <n>', 'entries per LOOKUP_AND_DELETE_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .option('--decode <fields>', DECODE_HELP, collect)
    .option('--no-progress', 'never draw the progress bar')
    .addHelpText('after', `
Nothing drained is lost: when the output closes early (| head), a write fails or a signal
(Ctrl-C, SIGTERM, SIGHUP, SIGPIPE; exit code 128 + its number) stops the drain, every entry removed
but not yet taken by the reader is put back (BPF_NOEXIST: a key a program re-created meanwhile
keeps its new value), and stderr says how many. An output that cannot be written (closed,
/dev/full) is refused (exit 2) before anything is removed. Into a pipe, drain ends once the
reader has taken everything.
`)
    .action(async (by: string, which: string, o: { format?: string; percpu?: string; batch: number; progress: boolean; hex?: boolean; decode?: string[]; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const format = formatOf(o.format, io.stdout.isTTY === true);
      const perCpu = perCpuModeOf(o.percpu, PERCPU_DEFAULT);
      using map = openMap(sel, kernelFrom(o.kernel, io), { raw: o.hex === true });
      const sink = sinkFor(io.stdout, 'nothing was removed from the map');
      const view = viewOf(map, perCpu, o.hex === true, parseDecode(o.decode));
      const chunks = drainChunks(map, { batchSize: o.batch });
      await drainTo(map, selectorText(sel), chunks, entryWriter(format, view, map.keySize, map.valueBytes), sink, progressFor(map, 'drain', o.progress, io), io.signals);
    });
}
