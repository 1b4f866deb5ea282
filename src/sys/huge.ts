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
 * Where a fresh buffer of `bytes` gets huge pages: one huge page more of address space (never
 * touched, so it costs no memory) and the offset of the first huge-page boundary in it, advised
 * MADV_HUGEPAGE; undefined for buffers below a huge page (a few hundred small pages at most, not
 * worth rounding up), kernels without THP and hosts without the addon.
 */
function hugeLayout(bytes: number): { extra: number; place: (raw: Uint8Array) => number } | undefined {
  const huge = transparentHugePageSize();
  const advise = huge > 0 && bytes >= huge ? nativeHugePages() : undefined;
  if (advise === undefined) return undefined;
  return { extra: huge, place: (raw) => Math.max(0, advise(raw, huge)) };
}

/**
 * An uninitialised buffer of `bytes` that the kernel may write into (a dump's output). A large one
 * starts on a huge-page boundary (hugeLayout): a fresh 12 MiB dump then faults 6 huge pages in
 * instead of 3,000 small ones, each fault ~8 us inside the syscall's copy to user memory.
 */
export function allocOutput(bytes: number): Buffer {
  const layout = hugeLayout(bytes);
  if (layout === undefined) return Buffer.allocUnsafe(bytes);
  const raw = Buffer.allocUnsafe(bytes + layout.extra);
  const offset = layout.place(raw);
  return raw.subarray(offset, offset + bytes);
}

/**
 * A zeroed SharedArrayBuffer with room for `bytes` from `offset` (a parallel dump's output, which
 * worker threads write into), huge-page backed from there on as allocOutput's buffers are.
 */
export function allocSharedOutput(bytes: number): { buffer: SharedArrayBuffer; offset: number } {
  const layout = hugeLayout(bytes);
  if (layout === undefined) return { buffer: new SharedArrayBuffer(bytes), offset: 0 };
  const buffer = new SharedArrayBuffer(bytes + layout.extra);
  return { buffer, offset: layout.place(Buffer.from(buffer)) };
}
