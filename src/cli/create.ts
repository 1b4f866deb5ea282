import type { Command } from 'commander';
import { BpfMap } from '../map/map.js';
import { mapNameProblem, type MapFlagName, type MapTypeName } from '../map/types.js';
import { integer, newCommand, withKernel } from './command.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';

interface CreateCliOptions {
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name?: string;
  flags?: string;
  kernel?: string;
}

function createMap(o: CreateCliOptions, io: CliIo): BpfMap {
  const flags = o.flags ? o.flags.split(',').map((f) => f.trim()).filter(Boolean) : [];
  try {
    return BpfMap.create({
      kernel: kernelFrom(o.kernel, io), type: o.type as MapTypeName, keySize: o.keySize, valueSize: o.valueSize,
      maxEntries: o.maxEntries, flags: flags as MapFlagName[], name: o.name ?? '',
    });
  } catch (e) {
    // Unknown types and flags are argument mistakes, told before any syscall.
    if (e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
}

export function createCommand(io: CliIo): Command {
  return withKernel(newCommand('create', 'create a map and pin it at PATH (a map nobody holds is freed when the command exits)', [
    'bpfmap create /sys/fs/bpf/flows --type hash --key-size 16 --value-size 16 --max-entries 100000 --name flows',
    'bpfmap create /sys/fs/bpf/counts --type percpu_array --key-size 4 --value-size 8 --max-entries 256',
    'bpfmap create /sys/fs/bpf/lpm --type lpm_trie --key-size 8 --value-size 4 --max-entries 1024 --flags no_prealloc',
  ]))
    .argument('<path>', 'where to pin the new map, on a bpf filesystem')
    .requiredOption('--type <type>', 'map type: hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash, lpm_trie, queue, stack, bloom_filter')
    .requiredOption('--key-size <bytes>', 'key size', integer(0))
    .requiredOption('--value-size <bytes>', 'value size', integer(1))
    .requiredOption('--max-entries <n>', 'max entries', integer(1))
    .option('--name <name>', 'map name (at most 15 bytes of [A-Za-z0-9_.])')
    .option('--flags <list>', 'comma-separated flags: no_prealloc, no_common_lru, zero_seed, rdonly, wronly, rdonly_prog, wronly_prog, mmapable, numa_node')
    .action((path: string, o: CreateCliOptions) => {
      if (o.name === '') throw new UsageError('--name is empty: leave it out for a map without a name');
      const nameProblem = o.name === undefined ? undefined : mapNameProblem(o.name);
      if (nameProblem !== undefined) throw new UsageError(`--name ${nameProblem}`);
      using map = createMap(o, io);
      map.pin(path);
      io.stdout.write(`created ${map.typeName} map id ${map.id}${map.name ? ` "${map.name}"` : ''}, pinned at ${path}\n`);
    });
}
