import { MAP_FLAG_NAMES, MAP_TYPE_NAMES } from '../sys/constants.js';

/** Map types bpfmap creates, by bpftool's names. */
export type MapTypeName =
  | 'hash' | 'array' | 'percpu_hash' | 'percpu_array' | 'lru_hash' | 'lru_percpu_hash'
  | 'lpm_trie' | 'queue' | 'stack' | 'hash_of_maps' | 'array_of_maps' | 'bloom_filter';

/** Map flags by bpftool's names (sys/constants.ts MAP_FLAG_NAMES, the one list of them). */
export type MapFlagName = (typeof MAP_FLAG_NAMES)[number][1];

const FLAG_BITS = new Map<string, number>(MAP_FLAG_NAMES.map(([bit, name]) => [name, bit]));

/** The longest map name: BPF_OBJ_NAME_LEN less its NUL. */
export const MAX_MAP_NAME = 15;

/**
 * Why name cannot be a map's name, or undefined when it can: the kernel takes at most 15
 * characters of [A-Za-z0-9_.] (anything else is EINVAL, and a longer name would be cut short).
 * The library's create and the CLI's --name share it.
 */
export function mapNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${typeof name}`;
  if (!/^[A-Za-z0-9_.]*$/.test(name)) return `may hold only letters, digits, "_" and "." ([A-Za-z0-9_.]), got ${JSON.stringify(name)}`;
  if (name.length > MAX_MAP_NAME) return `is at most ${MAX_MAP_NAME} characters (the kernel's BPF_OBJ_NAME_LEN with its NUL), got ${name.length}: ${JSON.stringify(name)}`;
  return undefined;
}

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
    const bit = FLAG_BITS.get(f);
    if (bit === undefined) throw new TypeError(`unknown map flag "${String(f)}" (known: ${[...FLAG_BITS.keys()].join(', ')})`);
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
