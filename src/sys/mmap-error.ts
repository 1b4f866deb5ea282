// What both kernels share about mmap of a map, apart from the syscall file (sys/mmap.ts), so the
// emulated kernel and the map layer can use it.
import { errnoName } from './errno.js';
import { roundUpValueSize } from './value-size.js';

const PAGE = 4096;

/**
 * Bytes of an mmapable array's memory (kernel/bpf/arraymap.c): max_entries values at
 * round_up(value_size, 8) strides, in whole pages.
 */
export function mmapBytes(valueSize: number, maxEntries: number): number {
  return Math.ceil((roundUpValueSize(valueSize) * maxEntries) / PAGE) * PAGE;
}

function mmapHint(errno: number, writable: boolean): string {
  switch (errnoName(errno)) {
    case 'EINVAL':
      return "only arrays created with BPF_F_MMAPABLE (flags: ['mmapable']) can be mapped";
    case 'ENOTSUPP':
    case 'ENODEV':
      return 'only array maps can be mapped';
    case 'EPERM':
      return writable ? 'the map is frozen: map it read-only' : 'not permitted';
    case 'EACCES':
      return writable ? 'the map fd is read-only (opened read-only): map it read-only' : 'the map fd is write-only';
    default:
      return '';
  }
}

/** Thrown when mmap(2) of a map fd fails; errno is the kernel's answer (EPERM for a frozen map mapped writable, EINVAL for a map without BPF_F_MMAPABLE). */
export class MmapError extends Error {
  constructor(
    readonly errno: number,
    readonly fd: number,
    readonly length: number,
    readonly offset: number,
    readonly writable: boolean,
    map?: string,
  ) {
    const hint = mmapHint(errno, writable);
    super(
      `mmap(fd ${fd}${map ? `, map ${map}` : ''}, ${length} bytes at ${offset}, ${writable ? 'read-write' : 'read-only'}) failed: ${errnoName(errno)}` +
        (hint ? ` (${hint})` : ''),
    );
    this.name = 'MmapError';
  }

  /** The same error, naming the map it was about. */
  withMap(map: string): MmapError {
    return new MmapError(this.errno, this.fd, this.length, this.offset, this.writable, map);
  }
}
