import type { Command } from 'commander';
import type { EmulatedKernel } from '../kernel/emulated.js';
import type { Kernel } from '../kernel/kernel.js';
import { eachMap } from '../map/list.js';
import { pinsByMapId } from '../map/pins.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY } from '../sys/constants.js';
import { alignColumns, humanBytes, toJsonText } from './columns.js';
import { newCommand, withKernel } from './command.js';
import type { CliIo } from './io.js';

// `list` runs in shell loops: it loads neither the emulator (unless it runs on it) nor codecs or BTF.

/** Arrays hold every index from creation on: their entry count is max_entries, known without a walk. */
const ALWAYS_FULL = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY]);

/** The real kernel where the options choose it (or nobody chose and bpf() works), loading nothing else; else kernelFrom's choice. */
async function kernelOf(kind: string | undefined, io: CliIo): Promise<Kernel> {
  const want = kind ?? (io.env.BPFMAP_KERNEL || undefined);
  if (want === undefined || want === 'linux') {
    const linux = (await import('../kernel/probe.js')).sharedLinux(want === 'linux' ? "openKernel('linux') asked for it" : undefined);
    if (linux.ok) return linux.kernel;
  }
  return (await import('./kernel-option.js')).kernelFrom(kind, io);
}

export function listCommand(io: CliIo): Command {
  return withKernel(newCommand('list', 'list every map: id, type, name, key/value size, max entries, entries (arrays), memory, BTF id, flags, pins', [
    'bpfmap list',
    'bpfmap list --json | jq \'.[] | select(.type == "hash")\'',
  ]))
    .option('--json', 'one JSON array of the maps, with everything the kernel says of each, its memory, entries (arrays) and pins')
    .addHelpText('after', '\nMEMLOCK is the memory the kernel charges for the map; ENTRIES is known without a walk for arrays only\n' +
      '(bpfmap export --maps counts the others); PINNED lists the paths on the bpf filesystems where the map is pinned.\n')
    .action(async (o: { json?: boolean; kernel?: string }) => {
      const kernel = await kernelOf(o.kernel, io);
      const pins = pinsByMapId(kernel);
      const maps = eachMap(kernel, (fd, info) => ({
        ...info,
        memory: kernel.mapMemory(fd),
        entries: ALWAYS_FULL.has(info.type) ? info.maxEntries : undefined,
        pins: pins.get(info.id) ?? [],
      }));
      // On stderr, so the table and the JSON stay what scripts parse.
      if (kernel.kind === 'emulated')
        io.stderr.write(`bpfmap list: the emulated kernel's maps (pinned ones kept in ${(kernel as EmulatedKernel).store.dir}), not the real kernel's\n`);
      if (o.json) {
        const rows = maps.map(({ typeName, flagNames, type, ...info }) => ({ ...info, type: typeName, typeNumber: type, flagNames }));
        io.stdout.write(toJsonText(rows) + '\n');
        return;
      }
      io.stdout.write(alignColumns(
        maps.map((m) => [String(m.id), m.typeName, m.name || '-', String(m.keySize), String(m.valueSize), String(m.maxEntries),
          m.entries === undefined ? '-' : String(m.entries), humanBytes(m.memory), m.btfId ? String(m.btfId) : '-', m.flagNames.join(',') || '-',
          m.pins.join(',') || '-']),
        ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX_ENTRIES', 'ENTRIES', 'MEMLOCK', 'BTF', 'FLAGS', 'PINNED'],
      ));
    });
}
