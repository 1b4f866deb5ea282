import type { Command } from 'commander';
import { drainChunks } from '../map/drain.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { CLI_BATCH, FORMAT_HELP, PERCPU_HELP } from './dump.js';
import { entryWriter, formatOf } from './formats.js';
import { kernelFrom } from './kernel-option.js';
import { closedOutputLoses, Output } from './output.js';
import { progressFor } from './progress.js';
import { HEX_HELP, openMap, parseSelector } from './selector.js';
import { streamChunks } from './stream.js';
import { perCpuModeOf, viewOf } from './view.js';

export function drainCommand(): Command {
  return withKernel(withMapArgs(newCommand('drain', 'remove every entry with LOOKUP_AND_DELETE_BATCH and print what was removed (each exactly once)', [
    'bpfmap drain pinned /sys/fs/bpf/counts --format ndjson >> counts.log',
    'bpfmap drain id 42 --format json',
  ])))
    .option('--format <format>', FORMAT_HELP)
    .option('--percpu <mode>', PERCPU_HELP)
    .option('--batch <n>', 'entries per LOOKUP_AND_DELETE_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .option('--no-progress', 'never draw the progress bar')
    .action(async (by: string, which: string, o: { format?: string; percpu?: string; batch: number; progress: boolean; hex?: boolean; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const format = formatOf(o.format, process.stdout.isTTY === true);
      const perCpu = perCpuModeOf(o.percpu, format === 'table' ? 'sum' : 'each');
      using map = openMap(sel, kernelFrom(o.kernel), { raw: o.hex === true });
      const view = viewOf(map, perCpu, o.hex === true);
      const chunks = drainChunks(map, { batchSize: o.batch });
      closedOutputLoses('entries drained from the map but not yet written are lost');
      await streamChunks(chunks, entryWriter(format, view, map.keySize, map.valueBytes), new Output(process.stdout), progressFor(map, 'drain', o.progress));
    });
}
