import type { Command } from 'commander';
import { btfFromId } from '../kernel/btf.js';
import type { Btf } from '../btf/btf.js';
import { toJSONValue, type Codec } from '../codec/codec.js';
import { RingBuffer } from '../map/ringbuf.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector, selectorText } from './selector.js';

/** Signals that end a follow: it prints what it read and exits 0, as the usual way to stop it. */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface FollowOptions {
  type?: string;
  btfId?: number;
  count?: number;
  format?: string;
  kernel?: string;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The line of one record: ndjson ({"len":N,"hex":"..."} or {"len":N,"value":...}), or a terminal's "N: hex/json". */
function lineOf(json: boolean, rec: unknown, codec: Codec<unknown> | undefined, seq: number): string {
  if (codec) {
    const v = JSON.stringify(toJSONValue(codec, rec));
    return json ? `{"value":${v}}\n` : `${seq}: ${v}\n`;
  }
  const b = rec as Uint8Array;
  const hex = Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return json ? `{"len":${b.length},"hex":"${hex}"}\n` : `${seq}: [${b.length}] ${hex}\n`;
}

export function followCommand(io: CliIo): Command {
  return withKernel(
    withMapArgs(
      newCommand('follow', 'print the records of a ring buffer map as they arrive (until Ctrl-C or --count)', [
        'bpfmap follow pinned /sys/fs/bpf/events',
        'bpfmap follow name events --type "struct event" --btf-id 123',
        'bpfmap follow id 42 --count 100 | jq -c .',
      ]),
    ),
  )
    .option('--type <name>', 'decode each record as this BTF type ("struct event"), from the running kernel or --btf-id')
    .option('--btf-id <id>', "the BTF object holding --type (a program's, as bpftool prog show lists it)", integer(1))
    .option('--count <n>', 'stop after this many records', integer(1))
    .option('--format <format>', 'ndjson (default when piped) or text (default on a terminal)')
    .action(async (by: string, which: string | undefined, o: FollowOptions) => {
      const sel = parseSelector(by, which);
      const kernel = kernelFrom(o.kernel, io);
      const tty = io.stdout.isTTY === true;
      const format = o.format ?? (tty ? 'text' : 'ndjson');
      if (format !== 'text' && format !== 'ndjson') throw new UsageError(`--format must be text or ndjson, got "${format}"`);
      if (o.btfId !== undefined && o.type === undefined) throw new UsageError('--btf-id names where --type is found: give --type too');
      const map = openMap(sel, kernel, { raw: true });
      let rb: RingBuffer<unknown>;
      try {
        const btf: Btf | undefined = o.btfId === undefined ? undefined : btfFromId(o.btfId, kernel);
        rb = RingBuffer.fromMap<unknown>(map, { ...(o.type ? { type: o.type } : {}), ...(btf ? { btf } : {}) });
      } catch (e) {
        map.close();
        throw e;
      }
      const codec = rb.codec;
      let stopped: NodeJS.Signals | undefined;
      const stop = (s: NodeJS.Signals): void => {
        stopped = s;
        rb.close();
      };
      for (const s of SIGNALS) io.signals.on(s, stop);
      // On a terminal, a rate line on stderr, rewritten once a second (a timer only while following).
      const start = Date.now();
      let read = 0;
      let lastRead = 0;
      const rate = io.stderr.isTTY
        ? setInterval(() => {
            io.stderr.write(`\r\x1b[K${plural(read, 'record')}, ${read - lastRead}/s`);
            lastRead = read;
          }, 1000)
        : undefined;
      let stats = rb.stats();
      try {
        const json = format === 'ndjson';
        while (!rb.closed) {
          let text = '';
          const batch = rb.read({ max: o.count === undefined ? 1024 : Math.min(1024, o.count - read) });
          for (const rec of batch) text += lineOf(json, rec, codec, ++read);
          if (text !== '' && !io.stdout.write(text)) await new Promise((r) => io.stdout.once('drain', r));
          stats = rb.stats();
          if (o.count !== undefined && read >= o.count) break;
          if (batch.length === 0) await rb.wait();
        }
      } finally {
        if (rate) clearInterval(rate);
        for (const s of SIGNALS) io.signals.off(s, stop);
        if (!rb.closed) stats = rb.stats();
        rb.close();
        map.close();
      }
      const secs = (Date.now() - start) / 1000;
      io.stderr.write(
        `${rate ? '\r\x1b[K' : ''}bpfmap follow ${selectorText(sel)}: ${plural(read, 'record')} read in ${secs.toFixed(1)} s` +
          `, ${stats.discarded} discarded by the producer; ring ${stats.size} bytes, producer at ${stats.producerPos}, consumer at ${stats.consumerPos}` +
          ` (records a producer could not reserve are lost before the ring: count them in the program)${stopped ? `; stopped by ${stopped}` : ''}\n`,
      );
    });
}
