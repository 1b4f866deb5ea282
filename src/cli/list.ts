import type { Command } from 'commander';
import { EmulatedKernel } from '../kernel/emulated.js';
import { listMaps } from '../map/map.js';
import { alignColumns, toJsonText } from './columns.js';
import { newCommand, withKernel } from './command.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';

export function listCommand(io: CliIo): Command {
  return withKernel(newCommand('list', 'list every map: id, type, name, key/value size, max entries, flags', [
    'bpfmap list',
    'bpfmap list --json | jq \'.[] | select(.type == "hash")\'',
  ]))
    .option('--json', 'one JSON array of the maps, with everything the kernel says of each')
    .action((o: { json?: boolean; kernel?: string }) => {
      const kernel = kernelFrom(o.kernel, io);
      const maps = listMaps(kernel);
      // On stderr, so the table and the JSON stay what scripts parse.
      if (kernel instanceof EmulatedKernel)
        io.stderr.write(`bpfmap list: the emulated kernel's maps (pinned ones kept in ${kernel.store.dir}), not the real kernel's\n`);
      if (o.json) {
        const rows = maps.map(({ typeName, flagNames, type, ...info }) => ({ ...info, type: typeName, typeNumber: type, flagNames }));
        io.stdout.write(toJsonText(rows) + '\n');
        return;
      }
      io.stdout.write(alignColumns(
        maps.map((m) => [String(m.id), m.typeName, m.name || '-', String(m.keySize), String(m.valueSize), String(m.maxEntries), m.flagNames.join(',') || '-']),
        ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX_ENTRIES', 'FLAGS'],
      ));
    });
}
