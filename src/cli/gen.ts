import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { generateTypeScript } from '../map/gen.js';
import { newCommand, withKernel, withMapArgs } from './command.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector } from './selector.js';

export function genCommand(io: CliIo): Command {
  return withKernel(
    withMapArgs(
      newCommand(
        'gen',
        'write a TypeScript module with the key and value types and codecs of a map (or of every map pinned in a directory), from its BTF',
        ['bpfmap gen pinned /sys/fs/bpf/myprog -o src/maps.ts', 'bpfmap gen name pkt_count'],
      ),
    ),
  )
    .option('-o, --out <file>', 'write the module to FILE (default: stdout)')
    .option('--import-from <module>', 'the module the generated file imports bpfmap from', 'bpfmap')
    .action((by: string, which: string | undefined, o: { out?: string; importFrom: string; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const kernel = kernelFrom(o.kernel, io);
      let text: string;
      if (sel.kind === 'pinned') text = generateTypeScript(sel.path, { kernel, importFrom: o.importFrom });
      else {
        using map = openMap(sel, kernel, { readOnly: true, raw: true });
        text = generateTypeScript([map], { importFrom: o.importFrom });
      }
      if (o.out === undefined) io.stdout.write(text);
      else writeFileSync(o.out, text);
    });
}
