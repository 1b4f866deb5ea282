import { errnoName } from './errno.js';
import { nativeMmap } from './native.js';

/** Thrown when mmap(2) of a map fd fails; errno is the kernel's answer (EPERM for a frozen map mapped writable, EINVAL for a map without BPF_F_MMAPABLE). */
export class MmapError extends Error {
  constructor(
    readonly errno: number,
    readonly fd: number,
    readonly length: number,
    readonly offset: number,
    readonly writable: boolean,
  ) {
    super(`mmap(fd ${fd}, ${length} bytes at ${offset}, ${writable ? 'read-write' : 'read-only'}) failed: ${errnoName(errno)}`);
    this.name = 'MmapError';
  }
}

/**
 * Maps length bytes of a map fd at offset (a multiple of the page size) as a shared ArrayBuffer.
 * The memory is the kernel's: writes are seen by BPF programs at once, and theirs by the buffer.
 * Release it with unmapMemory(); a collected buffer is unmapped too.
 */
export function mapMemory(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer {
  const r = nativeMmap().mmap(fd, length, offset, writable);
  if (typeof r === 'number') throw new MmapError(-r, fd, length, offset, writable);
  return r;
}

/** Unmaps a buffer made by mapMemory(): it is detached (byteLength 0), so no view of it can reach the old pages. */
export function unmapMemory(buffer: ArrayBuffer): void {
  nativeMmap().munmap(buffer);
}
