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

/**
 * Lets go of the map's pages of a buffer made by mapMemory(): private zero pages take their place,
 * so views of it read zeros (never the map, never unmapped memory) and keep their length. The
 * buffer is not detached: a single detach makes V8 check every typed-array access of the process
 * for detachment from then on (its detaching protector); a plain loop over a typed array then took
 * twice as long here. The range is unmapped when the buffer is collected.
 */
export function unmapMemory(buffer: ArrayBuffer): void {
  nativeMmap().munmap(buffer);
}
