import { readFileSync } from 'node:fs';
import { nativeHugePages } from './native.js';

let hugePageSize: number | undefined;

/** The size of a transparent huge page when the kernel gives them on madvise (or always), else 0. */
export function transparentHugePageSize(): number {
  if (hugePageSize !== undefined) return hugePageSize;
  hugePageSize = 0;
  try {
    const enabled = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    if (!/\[never\]/.test(enabled)) {
      const size = Number(readFileSync('/sys/kernel/mm/transparent_hugepage/hpage_pmd_size', 'utf8').trim());
      if (Number.isInteger(size) && size > 0 && (size & (size - 1)) === 0) hugePageSize = size;
    }
  } catch {
    // No THP in this kernel (or not Linux): plain pages.
  }
  return hugePageSize;
}

/**
 * An uninitialised buffer of `bytes` that the kernel may write into (a dump's output). A large one
 * starts on a huge-page boundary of a slightly larger allocation advised MADV_HUGEPAGE: a fresh
 * 12 MiB dump then faults 6 huge pages in instead of 3,000 small ones, each fault ~8 us inside the
 * syscall's copy to user memory. Smaller buffers, kernels without THP and hosts without the addon
 * get Buffer.allocUnsafe.
 */
export function allocOutput(bytes: number): Buffer {
  // Below one huge page a buffer is a few hundred small pages at most, not worth rounding up.
  const huge = transparentHugePageSize();
  const advise = huge > 0 && bytes >= huge ? nativeHugePages() : undefined;
  if (advise === undefined) return Buffer.allocUnsafe(bytes);
  // The extra huge page of address space is never touched, so it costs no memory.
  const raw = Buffer.allocUnsafe(bytes + huge);
  const offset = advise(raw, huge);
  return offset < 0 ? raw.subarray(0, bytes) : raw.subarray(offset, offset + bytes);
}

/**
 * A zeroed SharedArrayBuffer with room for `bytes` from `offset` (a parallel dump's output, which
 * worker threads write into), huge-page backed from there on as allocOutput's buffers are.
 */
export function allocSharedOutput(bytes: number): { buffer: SharedArrayBuffer; offset: number } {
  const huge = transparentHugePageSize();
  const advise = huge > 0 && bytes >= huge ? nativeHugePages() : undefined;
  if (advise === undefined) return { buffer: new SharedArrayBuffer(bytes), offset: 0 };
  const buffer = new SharedArrayBuffer(bytes + huge);
  return { buffer, offset: Math.max(0, advise(Buffer.from(buffer), huge)) };
}
