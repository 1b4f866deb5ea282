import type { Command } from 'commander';
import { alignColumns, toJsonText } from './columns.js';
import { newCommand, withKernel, withMapArgs } from './command.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector } from './selector.js';

export function showCommand(): Command {
  return withKernel(withMapArgs(newCommand('show', "a map's info: type, sizes, flags, BTF key and value types", [
    'bpfmap show id 42',
    'bpfmap show pinned /sys/fs/bpf/flows --json',
    'bpfmap show name flows',
  ])))
    .option('--json', 'the info as one JSON object')
    .action((by: string, which: string, o: { json?: boolean; kernel?: string }) => {
      const sel = parseSelector(by, which);
      using map = openMap(sel, kernelFrom(o.kernel), { readOnly: true });
      const info = map.info();
      const btf = info.btfId ? { id: info.btfId, keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId } : null;
      if (o.json) {
        const { typeName, flagNames, type, ...rest } = info;
        process.stdout.write(toJsonText({ ...rest, type: typeName, typeNumber: type, flagNames, cpus: map.perCpu ? map.cpus : undefined, pinned: sel.kind === 'pinned' ? sel.path : undefined, btf }, 2) + '\n');
        return;
      }
      const rows: string[][] = [
        ['id', String(info.id)],
        ['name', info.name || '-'],
        ['type', info.typeName],
        ['key', `${info.keySize} bytes`],
        ['value', `${info.valueSize} bytes${map.perCpu ? ` per CPU, ${map.cpus} possible CPUs` : ''}`],
        ['max_entries', String(info.maxEntries)],
        ['flags', info.flagNames.join(',') || '-'],
        ['btf', btf ? `id ${btf.id}, key type ${btf.keyTypeId}, value type ${btf.valueTypeId}` : 'none (keys and values shown as hex)'],
      ];
      if (sel.kind === 'pinned') rows.push(['pinned', sel.path]);
      process.stdout.write(alignColumns(rows));
    });
}
