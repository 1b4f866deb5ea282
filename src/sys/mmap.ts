import { MmapError } from './mmap-error.js';
import { nativeMmap } from './native.js';

export { MmapError, mmapBytes } from './mmap-error.js';

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
