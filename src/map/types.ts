import {
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_NUMA_NODE,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  MAP_FLAG_NAMES,
  MAP_TYPE_NAMES,
} from '../sys/constants.js';

/** Map types bpfmap creates, by bpftool's names. */
export type MapTypeName =
  | 'hash' | 'array' | 'percpu_hash' | 'percpu_array' | 'lru_hash' | 'lru_percpu_hash'
  | 'lpm_trie' | 'queue' | 'stack' | 'hash_of_maps' | 'array_of_maps' | 'bloom_filter';

export type MapFlagName =
  | 'no_prealloc' | 'no_common_lru' | 'numa_node' | 'rdonly' | 'wronly' | 'zero_seed'
  | 'rdonly_prog' | 'wronly_prog' | 'mmapable' | 'inner_map';

const FLAG_BITS: Record<MapFlagName, number> = {
  no_prealloc: BPF_F_NO_PREALLOC,
  no_common_lru: BPF_F_NO_COMMON_LRU,
  numa_node: BPF_F_NUMA_NODE,
  rdonly: BPF_F_RDONLY,
  wronly: BPF_F_WRONLY,
  zero_seed: BPF_F_ZERO_SEED,
  rdonly_prog: BPF_F_RDONLY_PROG,
  wronly_prog: BPF_F_WRONLY_PROG,
  mmapable: BPF_F_MMAPABLE,
  inner_map: BPF_F_INNER_MAP,
};

/** The enum bpf_map_type value of a type given by name or number. */
export function mapTypeNumber(type: MapTypeName | number): number {
  if (typeof type === 'number') {
    if (!Number.isInteger(type) || type <= 0 || type >= MAP_TYPE_NAMES.length)
      throw new TypeError(`unknown map type ${type}`);
    return type;
  }
  const n = MAP_TYPE_NAMES.indexOf(type);
  if (n <= 0) throw new TypeError(`unknown map type "${String(type)}" (known: ${MAP_TYPE_NAMES.slice(1).join(', ')})`);
  return n;
}

export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

/** map_flags from a number or a list of flag names. */
export function mapFlagsNumber(flags: number | readonly MapFlagName[] | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number') {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw new TypeError(`map flags must be a u32, got ${flags}`);
    return flags;
  }
  if (!Array.isArray(flags)) throw new TypeError('map flags must be a number or an array of flag names');
  let n = 0;
  for (const f of flags as readonly string[]) {
    const bit = (FLAG_BITS as Record<string, number | undefined>)[f];
    if (bit === undefined) throw new TypeError(`unknown map flag "${String(f)}" (known: ${Object.keys(FLAG_BITS).join(', ')})`);
    n |= bit;
  }
  return n;
}

export function mapFlagNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of MAP_FLAG_NAMES) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}
