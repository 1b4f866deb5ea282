import type { Command } from 'commander';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { CLI_BATCH } from './defaults.js';
import { histogramsText, histReader, scaleOf, withHistOptions, type HistOptions } from './histogram.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector } from './selector.js';

export function histCommand(io: CliIo): Command {
  return withKernel(
    withHistOptions(
      withMapArgs(
        newCommand(
          'hist',
          "print a histogram map (bucket index key, count value) as bars, like bcc's print_log2_hist; per-CPU counts are summed",
          [
            'bpfmap hist pinned /sys/fs/bpf/runq_lat',
            'bpfmap hist id 42 --bucket slot --group pid --label usecs',
            'bpfmap hist name sizes --linear 64 --min 0 --bucket u32@0 --value u64@0',
            'bpfmap watch pinned /sys/fs/bpf/runq_lat --hist   # live, counts per interval',
          ],
        ),
      ),
    ),
  )
    .option(
      '--value <field>',
      "the value field holding the count: a field of the value's BTF (default: the value, or its first number), or u8|u16|u32|u64@OFFSET",
    )
    .option('--batch <n>', 'entries per LOOKUP_BATCH syscall', integer(1), CLI_BATCH)
    .action((by: string, which: string | undefined, o: HistOptions & { batch: number; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const scale = scaleOf(o);
      using map = openMap(sel, kernelFrom(o.kernel, io), { readOnly: true });
      const reader = histReader(map, o);
      const d = map.dump({ batchSize: o.batch });
      const hs = reader.read(d.keys, d.values, d.count);
      const columns = (io.stdout.isTTY && io.stdout.columns) || 80;
      const label = o.label ?? reader.bucketName;
      const lines = hs.length === 0 ? [`${label.padStart(10)} : count  (the map is empty)`] : histogramsText(hs, scale, label, columns);
      io.stdout.write(lines.join('\n') + '\n');
    });
}
