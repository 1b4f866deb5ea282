import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Btf } from '../btf/btf.js';
import { parseCType, type CTypeLookup } from '../btf/c-types.js';
import { BtfBuilder } from '../btf/encode.js';
import { BtfError } from '../btf/error.js';
import { parseBtf } from '../btf/parse.js';
import { btfFromId, vmlinuxBtf } from '../kernel/btf.js';
import type { Kernel } from '../kernel/kernel.js';
import type { MapBtf } from '../map/btf.js';
import { BpfMap } from '../map/map.js';
import { mapNameProblem, type MapFlagName, type MapTypeName } from '../map/types.js';
import { integer, newCommand, withKernel } from './command.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { openMap, parseSelector } from './selector.js';

interface CreateCliOptions {
  type: string;
  keySize?: number;
  valueSize?: number;
  key?: string;
  value?: string;
  typesFrom?: string;
  maxEntries: number;
  name?: string;
  flags?: string;
  kernel?: string;
}

/** Where type names that --key and --value use but do not define are found: vmlinux, a BTF file, or a map's BTF. */
function lookupIn(source: string | undefined, kernel: Kernel): CTypeLookup {
  let btf: Btf | undefined;
  const load = (): Btf => {
    if (btf) return btf;
    try {
      if (source === undefined || source === 'vmlinux') btf = vmlinuxBtf();
      else {
        const m = /^(id|pinned):(.+)$/.exec(source);
        if (m) {
          using map = openMap(parseSelector(m[1], m[2]), kernel, { raw: true });
          const id = map.info().btfId;
          if (id === 0) throw new UsageError(`--types-from ${source}: that map has no BTF`);
          btf = btfFromId(id, kernel);
        } else btf = parseBtf(readFileSync(source));
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--types-from ${source ?? 'vmlinux'}: ${(e as Error).message}`);
    }
    return btf;
  };
  return (name) => {
    const b = load();
    const id = b.find(name);
    return id === undefined ? undefined : { btf: b, id };
  };
}

/** --key/--value: C declarations (or type names) made into one BTF for the map. */
function typesOf(o: CreateCliOptions, kernel: Kernel): MapBtf | undefined {
  if (o.key === undefined && o.value === undefined) return undefined;
  if (o.value === undefined) throw new UsageError('--key needs --value: a typed map gives both its types (or --value alone, for array maps)');
  const b = new BtfBuilder();
  const lookup = lookupIn(o.typesFrom, kernel);
  const parse = (text: string, what: string): number => {
    try {
      return parseCType(text, b, lookup);
    } catch (e) {
      if (e instanceof BtfError) throw new UsageError(`${what}: ${e.message}`);
      throw e;
    }
  };
  const key = o.key === undefined ? undefined : parse(o.key, '--key');
  const value = parse(o.value, '--value');
  const btf = b.btf();
  return key === undefined ? { value: { btf, type: value } } : { key: { btf, type: key }, value: { btf, type: value } };
}

function createMap(o: CreateCliOptions, io: CliIo): BpfMap {
  const flags = o.flags ? o.flags.split(',').map((f) => f.trim()).filter(Boolean) : [];
  const kernel = kernelFrom(o.kernel, io);
  const btf = typesOf(o, kernel);
  if (!btf && (o.keySize === undefined || o.valueSize === undefined)) throw new UsageError('give --key-size and --value-size, or the types: --key and --value');
  try {
    return BpfMap.create({
      kernel, type: o.type as MapTypeName, maxEntries: o.maxEntries, flags: flags as MapFlagName[], name: o.name ?? '',
      ...(o.keySize === undefined ? {} : { keySize: o.keySize }),
      ...(o.valueSize === undefined ? {} : { valueSize: o.valueSize }),
      ...(btf ? { btf } : {}),
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
    "bpfmap create /sys/fs/bpf/flows --type hash --max-entries 65536 --key 'struct flow { __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; __u8 proto; }' --value 'struct { __u64 packets; __u64 bytes; }'",
    "bpfmap create /sys/fs/bpf/hdrs --type array --max-entries 16 --value 'struct iphdr'   # a vmlinux type",
  ]))
    .argument('<path>', 'where to pin the new map, on a bpf filesystem')
    .requiredOption('--type <type>', 'map type: hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash, lpm_trie, queue, stack, bloom_filter')
    .option('--key-size <bytes>', 'key size (default: the --key type\'s)', integer(0))
    .option('--value-size <bytes>', 'value size (default: the --value type\'s)', integer(1))
    .option('--key <type>', 'the key\'s C type, loaded as the map\'s BTF: a declaration (\'struct { __be32 saddr; __be16 sport; }\', \'__u32\', \'char[16]\') or a type name (\'struct iphdr\')')
    .option('--value <type>', 'the value\'s C type, as --key')
    .option('--types-from <source>', 'where type names not declared in --key/--value are found: vmlinux (default), a raw BTF file, id:N or pinned:PATH (a map\'s BTF)')
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
