import {
  BATCH_COMMANDS,
  BPF_MAP_CREATE,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_GET_FD_BY_ID,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_UPDATE_BATCH,
  BPF_F_LOCK,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_OBJ_PIN,
  COMMAND_NAMES,
} from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';

/** Which map an error is about, when known. */
export interface MapRef {
  id?: number;
  name?: string;
  path?: string;
}

const WRITES = new Set([BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_MAP_UPDATE_BATCH, BPF_MAP_DELETE_BATCH]);
const PRIVILEGES =
  'bpf() needs root or CAP_BPF (some map types also CAP_SYS_ADMIN or CAP_NET_ADMIN; see ' +
  '/proc/sys/kernel/unprivileged_bpf_disabled). Without privileges, use the emulated kernel: BPFMAP_KERNEL=emulated';

/** A hint a user can act on, for an errno returned by a command. */
export function hintFor(cmd: number, errno: number, elemFlags = 0): string | undefined {
  const name = errnoName(errno);
  const batch = BATCH_COMMANDS.has(cmd);
  switch (name) {
    case 'EPERM':
    case 'EACCES':
      if (cmd === BPF_OBJ_GET)
        return 'not a pinned bpf object readable by this process (is the path on a bpf filesystem?)';
      if (WRITES.has(cmd))
        return 'the map is read-only to userspace (BPF_F_RDONLY, opened read-only, or frozen), or ' + PRIVILEGES;
      if (cmd === BPF_MAP_LOOKUP_ELEM || cmd === BPF_MAP_LOOKUP_BATCH)
        return 'the map is write-only to userspace (BPF_F_WRONLY), or ' + PRIVILEGES;
      return PRIVILEGES;
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return `this map type does not support ${COMMAND_NAMES[cmd] ?? `command ${cmd}`}`;
    case 'EINVAL':
      if ((elemFlags & BPF_F_LOCK) !== 0)
        return 'BPF_F_LOCK needs a map whose value holds a struct bpf_spin_lock (described by BTF)';
      if (batch)
        return 'the kernel rejected the batch call: kernels before 5.6 have no batch commands; ' +
          'otherwise flags must be 0 and elem_flags only BPF_F_LOCK';
      if (cmd === BPF_MAP_CREATE)
        return 'the kernel rejected the map attributes (sizes, flags or max_entries for this map type)';
      return undefined;
    case 'E2BIG':
      return 'the map is full (max_entries reached) or the index is past the end of the array';
    case 'EEXIST':
      if (cmd === BPF_OBJ_PIN) return 'something is already pinned at that path';
      return "the key already exists and 'noexist' was asked";
    case 'ENOENT':
      if (cmd === BPF_MAP_GET_FD_BY_ID) return 'no map has that id (it may have been freed)';
      if (cmd === BPF_OBJ_GET) return 'nothing is pinned at that path';
      if (cmd === BPF_MAP_UPDATE_ELEM) return "the key does not exist and 'exist' was asked";
      return 'no such element';
    case 'EBADF':
    case 'EBADFD': // what 6.18 answers OBJ_GET_INFO_BY_FD for an fd that is not open
      return 'not an open bpf map (was it closed?)';
    case 'ENOSPC':
      return 'a hash bucket holds more entries than the batch count: retry with a larger count';
    case 'ENOMEM':
      return 'out of memory, or RLIMIT_MEMLOCK too low on kernels before 5.11 (ulimit -l)';
    case 'ENOSYS':
      return 'this kernel has no bpf() syscall (CONFIG_BPF_SYSCALL); use BPFMAP_KERNEL=emulated';
    default:
      return undefined;
  }
}

function describeMap(map: MapRef | undefined): string {
  if (!map) return '';
  const parts: string[] = [];
  if (map.id !== undefined) parts.push(`id ${map.id}`);
  if (map.name) parts.push(`"${map.name}"`);
  if (map.path) parts.push(map.path);
  return parts.length ? ` on map ${parts.join(' ')}` : '';
}

/** A bpf(2) command failed: which command, which errno, which map, and what to do about it. */
export class BpfError extends Error {
  override readonly name = 'BpfError';
  readonly command: string;
  readonly cmd: number;
  readonly errno: number;
  readonly code: string;
  readonly hint: string | undefined;
  map: MapRef | undefined;
  /** For batch commands: the attr's count as the kernel left it. */
  readonly count: number | undefined;
  /** For batch writes: how many elements were applied before the failing one (none after it). */
  readonly applied: number | undefined;

  constructor(cmd: number, errno: number, opts: { map?: MapRef; count?: number; applied?: number; elemFlags?: number; hint?: string } = {}) {
    super('');
    this.cmd = cmd;
    this.command = COMMAND_NAMES[cmd] ?? `bpf command ${cmd}`;
    this.errno = errno;
    this.code = errnoName(errno);
    this.hint = opts.hint ?? hintFor(cmd, errno, opts.elemFlags);
    this.map = opts.map;
    this.count = opts.count;
    this.applied = opts.applied;
    this.message = this.compose();
  }

  /** Adds which map this was about (the kernel layer knows fds, the map layer knows names). */
  withMap(map: MapRef): this {
    if (!this.map) {
      this.map = map;
      this.message = this.compose();
    }
    return this;
  }

  private compose(): string {
    const applied = this.applied !== undefined ? ` after ${this.applied} element(s) applied` : '';
    return `${this.command}${describeMap(this.map)} failed: ${this.code}${applied}` + (this.hint ? ` (${this.hint})` : '');
  }
}

/** Whether e is a BpfError with this errno name (e.g. "ENOENT"). */
export function isErrno(e: unknown, name: string): e is BpfError {
  return e instanceof BpfError && e.code === name;
}

