import type { Command } from 'commander';
import { newCommand, withKernel, withMapArgs } from './command.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector, selectorText } from './selector.js';

export function pinCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('pin', 'pin a map at PATH on a bpf filesystem, so it outlives its programs', [
    'bpfmap pin id 42 /sys/fs/bpf/flows',
    'bpfmap pin name flows /sys/fs/bpf/flows',
  ]), false))
    .argument('<path>', 'the new pin, on a bpf filesystem')
    .action((by: string, which: string, path: string, o: { kernel?: string }) => {
      const sel = parseSelector(by, which);
      using map = openMap(sel, kernelFrom(o.kernel, io));
      map.pin(path);
      io.stdout.write(`pinned ${selectorText(sel)} (map id ${map.id}) at ${path}\n`);
    });
}
