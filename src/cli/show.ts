import type { Command } from 'commander';
import { mapTypes } from './btf-types.js';
import { alignColumns, toJsonText } from './columns.js';
import { newCommand, withKernel, withMapArgs } from './command.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector } from './selector.js';

export function showCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('show', "a map's info: type, sizes, flags, BTF key and value types", [
    'bpfmap show id 42',
    'bpfmap show pinned /sys/fs/bpf/flows --json',
    'bpfmap show name flows',
  ])))
    .option('--json', 'the info as one JSON object (pins: every path the map is pinned at)')
    .action((by: string, which: string, o: { json?: boolean; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const kernel = kernelFrom(o.kernel, io);
      using map = openMap(sel, kernel, { readOnly: true, raw: true });
      const info = map.info();
      const types = mapTypes(kernel, info);
      const pins = map.pins();
      const btf = types ? { id: info.btfId, keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId, key: types.key, value: types.value } : null;
      if (o.json) {
        const { typeName, flagNames, type, ...rest } = info;
        io.stdout.write(toJsonText({ ...rest, type: typeName, typeNumber: type, flagNames, cpus: map.perCpu ? map.cpus : undefined, pinned: sel.kind === 'pinned' ? sel.path : undefined, pins, btf }, 2) + '\n');
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
        ['memlock', `${info.memlock} bytes`],
        ['frozen', info.frozen ? 'yes (read-only to userspace)' : 'no'],
        ['btf', btf ? `id ${btf.id}` : 'none (keys and values shown as hex)'],
      ];
      if (btf?.key) rows.push(['key type', btf.key]);
      if (btf?.value) rows.push(['value type', btf.value]);
      rows.push(['pinned', pins.join(', ') || (sel.kind === 'pinned' ? sel.path : 'nowhere')]);
      io.stdout.write(alignColumns(rows));
    });
}
