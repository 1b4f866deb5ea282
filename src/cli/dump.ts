import type { Command } from 'commander';
import { resolveMode, walkChunks, type WalkMode } from '../map/walk.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { CLI_BATCH, FORMAT_HELP, PERCPU_DEFAULT, PERCPU_HELP } from './defaults.js';
import { collect, DECODE_HELP, parseDecode } from './decode.js';
import { UsageError } from './errors.js';
import { entryWriter, formatOf } from './formats.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { Output } from './output.js';
import { progressFor } from './progress.js';
import { HEX_HELP, openMap, parseSelector } from './selector.js';
import { streamChunks } from './stream.js';
import { perCpuModeOf, viewOf } from './view.js';

export interface DumpOptions {
  format?: string;
  percpu?: string;
  batch: number;
  limit?: number;
  walk: string;
  progress: boolean;
  hex?: boolean;
  decode?: string[];
  kernel?: string;
}

function walkOf(s: string): 'auto' | WalkMode {
  if (s !== 'auto' && s !== 'batch' && s !== 'per-element') throw new UsageError(`--walk must be auto, batch or per-element, got "${s}"`);
  return s;
}

export function dumpCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('dump', 'print every entry, read with LOOKUP_BATCH and streamed (decoded by the map\'s BTF, else as hex)', [
    'bpfmap dump id 42',
    'bpfmap dump pinned /sys/fs/bpf/flows --format ndjson | jq -c .',
    'bpfmap dump name counts --format csv --percpu sum > counts.csv',
    'bpfmap dump id 42 --limit 10 --format json',
    'bpfmap dump pinned /sys/fs/bpf/flows --decode saddr=ipv4,sport=port,proto={6:tcp,17:udp}',
    'bpfmap dump pinned /sys/fs/bpf/flows > flows.ndjson && bpfmap load pinned /sys/fs/bpf/flows < flows.ndjson',
  ])))
    .option('--format <format>', FORMAT_HELP)
    .option('--percpu <mode>', PERCPU_HELP)
    .option('--batch <n>', 'entries per LOOKUP_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .option('--decode <fields>', DECODE_HELP, collect)
    .option('--limit <n>', 'stop after n entries', integer(0))
    .option('--walk <mode>', 'auto (batch where supported) | batch | per-element (GET_NEXT_KEY + LOOKUP_ELEM)', 'auto')
    .option('--no-progress', 'never draw the progress bar (drawn on stderr for large maps when stderr is a terminal and stdout is not)')
    .action(async (by: string, which: string, o: DumpOptions) => {
      const sel = parseSelector(by, which);
      const format = formatOf(o.format, io.stdout.isTTY === true);
      const perCpu = perCpuModeOf(o.percpu, PERCPU_DEFAULT);
      const walk = walkOf(o.walk);
      using map = openMap(sel, kernelFrom(o.kernel, io), { readOnly: true, raw: o.hex === true });
      const view = viewOf(map, perCpu, o.hex === true, parseDecode(o.decode));
      const opts = { batchSize: o.batch, mode: walk };
      const mode = resolveMode(map, opts);
      await streamChunks(walkChunks(map, mode, opts), entryWriter(format, view, map.keySize, map.valueBytes), new Output(io.stdout),
        progressFor(map, 'dump', o.progress, io), o.limit);
    });
}
