// The one table of hints a BpfError carries: chosen by the command, the errno and what the library
// knows of the map (its type and flags, how this fd was opened, whether it is frozen, why a pin
// path cannot work). An errno alone often has several causes; where the library can tell which,
// the hint names that one only, and where it cannot, it lists them.
import {
  BATCH_COMMANDS,
  BPF_F_LOCK,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  BPF_MAP_CREATE,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_FD_BY_ID,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_OBJ_PIN,
  COMMAND_NAMES,
  MAP_TYPE_NAMES,
} from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';

/** What the library knows of the map (or path) a failed command was about; every field optional. */
export interface HintContext {
  /** The command's elem_flags (BPF_F_LOCK). */
  elemFlags?: number;
  mapType?: number;
  /** map_flags as the kernel keeps them (no_prealloc...; it drops rdonly and wronly). */
  mapFlags?: number;
  /** The map_flags this fd was created with, when MAP_CREATE made it (rdonly and wronly make the fd so). */
  createFlags?: number;
  maxEntries?: number;
  keySize?: number;
  valueSize?: number;
  /** How this fd was opened: readOnly/writeOnly (BPF_F_RDONLY/WRONLY), else read-write. */
  access?: 'read-write' | 'read-only' | 'write-only';
  /** The map is frozen (BPF_MAP_FREEZE). */
  frozen?: boolean;
  /** Why a pin path cannot work (kernel/bpffs.ts pinPathProblem), for OBJ_PIN and OBJ_GET. */
  pathProblem?: string;
}

/** One row: when it applies (commands, errnos, a test of the context) and the hint it gives. */
export interface HintRow {
  /** Stable name of the row (BpfError.hintId), for tests and programs that branch on it. */
  id: string;
  /** The commands it is for; every command when absent. */
  commands?: readonly number[];
  errnos: readonly string[];
  when?: (c: HintContext) => boolean;
  hint: (c: HintContext, cmd: number) => string;
}

const PRIVILEGES =
  'bpf() needs root or CAP_BPF (some map types also CAP_SYS_ADMIN or CAP_NET_ADMIN; see ' +
  '/proc/sys/kernel/unprivileged_bpf_disabled). Without privileges, use the emulated kernel: BPFMAP_KERNEL=emulated';

/** Commands that need write access to the map from userspace. */
const WRITES = [
  BPF_MAP_UPDATE_ELEM,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_FREEZE,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
];
/** Commands that need read access. */
const READS = [
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
];
const DENIED = ['EPERM', 'EACCES'];
const ARRAYS = new Set([BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY]);
const HASHES = new Set([
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
]);
/** A hash map's bucket array (16-byte buckets, a power of two of them) must stay under 4 GiB. */
export const MAX_HASH_ENTRIES = 2 ** 28;

const isType =
  (types: ReadonlySet<number>) =>
  (c: HintContext): boolean =>
    c.mapType !== undefined && types.has(c.mapType);
const hasFlag =
  (flag: number) =>
  (c: HintContext): boolean =>
    ((c.mapFlags ?? 0) & flag) !== 0;
const typeName = (c: HintContext): string =>
  c.mapType === undefined ? 'maps of this type' : `${MAP_TYPE_NAMES[c.mapType] ?? `type ${c.mapType}`} maps`;
const cmdName = (cmd: number): string => COMMAND_NAMES[cmd] ?? `command ${cmd}`;
/** The fd's state was examined: what it did not find is not the cause. */
const known = (c: HintContext): boolean => c.access !== undefined && c.frozen !== undefined;

/** The rows, first match wins: the more the library knows, the earlier the row. */
export const HINT_ROWS: readonly HintRow[] = [
  {
    id: 'pin-path',
    commands: [BPF_OBJ_PIN, BPF_OBJ_GET],
    errnos: ['ENOENT', 'EPERM', 'EACCES', 'EINVAL'],
    when: (c) => c.pathProblem !== undefined,
    hint: (c) => c.pathProblem as string,
  },
  {
    id: 'pin-mode',
    commands: [BPF_OBJ_GET],
    errnos: ['EACCES'],
    hint: () =>
      "the pin's file mode does not let this process open it as asked (ls -l the pin; readOnly needs read permission, read-write both)",
  },
  {
    id: 'map-rdonly',
    commands: WRITES,
    errnos: DENIED,
    when: (c) => c.access === 'read-only' && ((c.createFlags ?? 0) & BPF_F_RDONLY) !== 0,
    hint: () =>
      'this handle is read-only: the map was created with the rdonly flag (BPF_F_RDONLY), which makes the fd that created it read-only; ' +
      'a handle opened again (by pin or id, without readOnly) can write it',
  },
  {
    id: 'map-wronly',
    commands: READS,
    errnos: DENIED,
    when: (c) => c.access === 'write-only' && ((c.createFlags ?? 0) & BPF_F_WRONLY) !== 0,
    hint: () =>
      'this handle is write-only: the map was created with the wronly flag (BPF_F_WRONLY), which makes the fd that created it write-only; ' +
      'a handle opened again (by pin or id, without writeOnly) can read it',
  },
  {
    id: 'handle-read-only',
    commands: WRITES,
    errnos: DENIED,
    when: (c) => c.access === 'read-only',
    hint: () => 'this handle was opened read-only (readOnly: true, BPF_F_RDONLY): open the map again without readOnly to write it',
  },
  {
    id: 'handle-write-only',
    commands: READS,
    errnos: DENIED,
    when: (c) => c.access === 'write-only',
    hint: () => 'this handle was opened write-only (writeOnly: true, BPF_F_WRONLY): open the map again without writeOnly to read it',
  },
  {
    id: 'frozen',
    commands: WRITES,
    errnos: DENIED,
    when: (c) => c.frozen === true,
    hint: (_c, cmd) =>
      cmd === BPF_MAP_FREEZE
        ? 'the map is already frozen'
        : 'the map is frozen (BPF_MAP_FREEZE): userspace can no longer write it, only programs can',
  },
  {
    id: 'write-denied',
    commands: WRITES,
    errnos: DENIED,
    when: (c) => !known(c),
    hint: () => 'the map is read-only to userspace (BPF_F_RDONLY, opened read-only, or frozen), or ' + PRIVILEGES,
  },
  {
    id: 'read-denied',
    commands: READS,
    errnos: DENIED,
    when: (c) => !known(c),
    hint: () => 'the map is write-only to userspace (BPF_F_WRONLY, opened write-only), or ' + PRIVILEGES,
  },
  { id: 'privileges', errnos: DENIED, hint: () => PRIVILEGES },
  {
    id: 'unsupported',
    errnos: ['ENOTSUPP', 'EOPNOTSUPP'],
    hint: (c, cmd) => `${typeName(c)} do not support ${cmdName(cmd)}`,
  },
  {
    id: 'lock',
    errnos: ['EINVAL'],
    when: (c) => ((c.elemFlags ?? 0) & BPF_F_LOCK) !== 0,
    hint: () => 'BPF_F_LOCK needs a map whose value holds a struct bpf_spin_lock (described by BTF)',
  },
  {
    id: 'array-delete',
    commands: [BPF_MAP_DELETE_ELEM],
    errnos: ['EINVAL'],
    when: isType(ARRAYS),
    hint: (c) => `${typeName(c)} cannot delete elements: every index from 0 to max_entries-1 always exists; write a zero value instead`,
  },
  {
    id: 'batch-einval',
    commands: [...BATCH_COMMANDS],
    errnos: ['EINVAL'],
    hint: () =>
      'the kernel rejected the batch call: kernels before 5.6 have no batch commands; otherwise flags must be 0 and elem_flags only BPF_F_LOCK',
  },
  {
    id: 'lpm-no-prealloc',
    commands: [BPF_MAP_CREATE],
    errnos: ['EINVAL'],
    when: (c) => c.mapType === BPF_MAP_TYPE_LPM_TRIE && !hasFlag(BPF_F_NO_PREALLOC)(c),
    hint: () => 'lpm_trie maps must be created with the no_prealloc flag (BPF_F_NO_PREALLOC)',
  },
  {
    id: 'lpm-sizes',
    commands: [BPF_MAP_CREATE],
    errnos: ['EINVAL'],
    when: (c) => c.mapType === BPF_MAP_TYPE_LPM_TRIE,
    hint: () =>
      'lpm_trie keys are a 4-byte prefix length followed by 1 to 256 bytes of data (key_size 5 to 260), and values at least 1 byte',
  },
  {
    id: 'create-einval',
    commands: [BPF_MAP_CREATE],
    errnos: ['EINVAL'],
    hint: () => 'the kernel rejected the map attributes (sizes, flags or max_entries for this map type)',
  },
  {
    id: 'hash-too-many',
    commands: [BPF_MAP_CREATE],
    errnos: ['E2BIG'],
    when: (c) => isType(HASHES)(c) && (c.maxEntries ?? 0) > MAX_HASH_ENTRIES,
    hint: (c) =>
      `max_entries ${c.maxEntries} is more than ${typeName(c)} can have (at most ${MAX_HASH_ENTRIES}, 2^28: the bucket array must stay under 4 GiB)`,
  },
  {
    id: 'create-too-big',
    commands: [BPF_MAP_CREATE],
    errnos: ['E2BIG'],
    hint: (c) =>
      `a size is larger than ${typeName(c)} allow${c.keySize === undefined ? '' : ` (key_size ${c.keySize}, value_size ${c.valueSize}, max_entries ${c.maxEntries})`}; per-CPU values hold at most 32 KiB per CPU`,
  },
  {
    id: 'array-index',
    commands: [BPF_MAP_UPDATE_ELEM, BPF_MAP_UPDATE_BATCH],
    errnos: ['E2BIG'],
    when: isType(ARRAYS),
    hint: (c) => `the index is past the end of the array${c.maxEntries === undefined ? '' : ` (indexes 0 to ${c.maxEntries - 1})`}`,
  },
  {
    id: 'queue-full',
    commands: [BPF_MAP_UPDATE_ELEM],
    errnos: ['E2BIG'],
    when: isType(new Set([BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK])),
    hint: (c) =>
      `the ${MAP_TYPE_NAMES[c.mapType as number]} is full${c.maxEntries === undefined ? '' : ` (${c.maxEntries} values)`}: pop values, or push with overwrite`,
  },
  {
    id: 'full',
    commands: [BPF_MAP_UPDATE_ELEM, BPF_MAP_UPDATE_BATCH],
    errnos: ['E2BIG'],
    when: (c) => c.mapType !== undefined && !isType(ARRAYS)(c),
    hint: (c) =>
      `the map is full (max_entries${c.maxEntries === undefined ? '' : ` ${c.maxEntries}`} reached): delete entries, or create the map larger`,
  },
  {
    id: 'full-or-index',
    commands: [BPF_MAP_UPDATE_ELEM, BPF_MAP_UPDATE_BATCH],
    errnos: ['E2BIG'],
    hint: () => 'the map is full (max_entries reached) or the index is past the end of the array',
  },
  {
    id: 'array-noexist',
    commands: [BPF_MAP_UPDATE_ELEM],
    errnos: ['EEXIST'],
    when: isType(ARRAYS),
    hint: () => "array elements always exist: 'noexist' never succeeds on an array",
  },
  { id: 'pin-exists', commands: [BPF_OBJ_PIN], errnos: ['EEXIST'], hint: () => 'something is already pinned at that path' },
  { id: 'noexist', commands: [BPF_MAP_UPDATE_ELEM], errnos: ['EEXIST'], hint: () => "the key already exists and 'noexist' was asked" },
  { id: 'no-map-id', commands: [BPF_MAP_GET_FD_BY_ID], errnos: ['ENOENT'], hint: () => 'no map has that id (it may have been freed)' },
  { id: 'not-pinned', commands: [BPF_OBJ_GET], errnos: ['ENOENT'], hint: () => 'nothing is pinned at that path' },
  { id: 'exist', commands: [BPF_MAP_UPDATE_ELEM], errnos: ['ENOENT'], hint: () => "the key does not exist and 'exist' was asked" },
  {
    id: 'delete-batch-missing',
    commands: [BPF_MAP_DELETE_BATCH],
    errnos: ['ENOENT'],
    hint: () => 'a key of the batch is not in the map: the keys before it were deleted, none after',
  },
  {
    id: 'closed',
    errnos: ['EBADF', 'EBADFD'], // EBADFD: what 6.18 answers OBJ_GET_INFO_BY_FD for an fd that is not open
    hint: () => 'not an open bpf map (was it closed?)',
  },
  {
    id: 'bucket-larger-than-batch',
    commands: [BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH],
    errnos: ['ENOSPC'],
    hint: () => 'a hash bucket holds more entries than the batch count: retry with a larger count',
  },
  { id: 'memory', errnos: ['ENOMEM'], hint: () => 'out of memory, or RLIMIT_MEMLOCK too low on kernels before 5.11 (ulimit -l)' },
  { id: 'no-syscall', errnos: ['ENOSYS'], hint: () => 'this kernel has no bpf() syscall (CONFIG_BPF_SYSCALL); use BPFMAP_KERNEL=emulated' },
];

/** The row that gives the hint for errno from cmd, given what is known; undefined when none applies. */
export function hintRow(cmd: number, errno: number, ctx: HintContext = {}): HintRow | undefined {
  const name = errnoName(errno);
  return HINT_ROWS.find(
    (r) => r.errnos.includes(name) && (r.commands === undefined || r.commands.includes(cmd)) && (r.when === undefined || r.when(ctx)),
  );
}

/** A hint a user can act on, for an errno returned by a command (with what is known of the map). */
export function hintFor(cmd: number, errno: number, ctx: HintContext = {}): string | undefined {
  return hintRow(cmd, errno, ctx)?.hint(ctx, cmd);
}
