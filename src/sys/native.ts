import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * One bpf(2) call. Each (offset, buffer, mayAccess) triple stores the buffer's address at
 * attr[offset]; the addon refuses a buffer shorter than mayAccess. Returns the syscall's
 * non-negative result, or -errno.
 */
export type BpfCall = (cmd: number, attr: Uint8Array, ...refs: Array<number | Uint8Array | null>) => number;

/** What Node cannot ask about a pipe it writes to; each returns -errno on failure. */
export interface PipeCalls {
  /** ioctl(FIONREAD): bytes in the pipe that no reader has taken yet. */
  unread(fd: number): number;
  /** poll(POLLOUT) for up to timeoutMs: the revents (POLLERR: no reader is left), 0 on timeout. */
  pollOut(fd: number, timeoutMs: number): number;
}

/**
 * cmds.length bpf(2) calls in one crossing into native code, call i on the attr at
 * attrs[i * attrSize]; made in order until one fails. relocs holds (attr offset, buffer index,
 * byte offset, length) quadruples: the address of buffers[index] + byte offset is stored at that
 * attr offset, the addon refusing (before any call) a buffer without length bytes from there.
 * Returns errno * 65536 + the number of calls that succeeded (errno 0: all did).
 */
export type BpfSequenceCall = (
  cmds: Uint32Array,
  attrs: Uint8Array,
  attrSize: number,
  relocs: Uint32Array,
  buffers: readonly Uint8Array[],
) => number;

/** mmap(2) of a map fd; see src/sys/mmap.ts. */
export interface MmapCalls {
  /** A MAP_SHARED mapping as an ArrayBuffer, read-only unless writable; or -errno. */
  mmap(fd: number, length: number, offset: number, writable: boolean): ArrayBuffer | number;
  /** Detaches a buffer made by mmap and unmaps it; a second call does nothing. */
  munmap(buffer: ArrayBuffer): void;
}

/**
 * madvise(MADV_HUGEPAGE) on the whole pages inside a buffer; returns the offset of its first byte
 * aligned to align (a power of two, page size to 1 GiB), or -errno.
 */
export type HugePagesCall = (buffer: Uint8Array, align: number) => number;

/** An opaque libuv poll handle made by WatchCalls.watch. */
export type NativeWatch = object;

/** Readiness of an fd on Node's event loop; see src/sys/ringbuf.ts. */
export interface WatchCalls {
  /** sysconf(_SC_PAGESIZE). */
  pageSize(): number;
  /** A stopped poll handle on fd that calls fn(events or -errno) when the fd is readable; or -errno. */
  watch(fd: number, fn: (events: number) => void): NativeWatch | number;
  /** Starts polling (level-triggered); 0 or -errno. */
  watchStart(w: NativeWatch): number;
  watchStop(w: NativeWatch): void;
  /** Stops for good and drops the reference to fn; a second call does nothing. */
  watchClose(w: NativeWatch): void;
}

interface Addon extends Partial<PipeCalls>, Partial<MmapCalls>, Partial<WatchCalls> {
  bpf: BpfCall;
  /** Absent from addons built before it. */
  bpfSequence?: BpfSequenceCall;
  /** fcntl(F_DUPFD_CLOEXEC): a new fd on the same open file, or -errno. */
  dup?(fd: number): number;
  hugePages?: HugePagesCall;
}

let addon: Addon | undefined;
let loadError: Error | undefined;

/** The native call, loaded on first use so the emulated kernel works where the addon cannot. */
export function nativeBpf(): BpfCall {
  return load().bpf;
}

/** The sequence call; throws the load error where the addon cannot load, and says so for an older build without it. */
export function nativeBpfSequence(): BpfSequenceCall {
  const { bpfSequence } = load();
  if (!bpfSequence) throw new Error('bpfmap: the native addon predates bpfSequence; rebuild it with `npm rebuild bpfmap`');
  return bpfSequence;
}

/** The pipe calls, or undefined where the addon cannot load (or is an older build without them). */
export function nativePipe(): PipeCalls | undefined {
  let a;
  try {
    a = load();
  } catch {
    return undefined;
  }
  const { unread, pollOut } = a;
  return unread && pollOut ? { unread, pollOut } : undefined;
}

/** The mmap calls; throws the load error where the addon cannot load, and says so for an older build without them. */
export function nativeMmap(): MmapCalls {
  const { mmap, munmap } = load();
  if (!mmap || !munmap) throw new Error('bpfmap: the native addon predates mmap support; rebuild it with `npm rebuild bpfmap`');
  return { mmap, munmap };
}

/** The watch calls; throws the load error where the addon cannot load, and says so for an older build without them. */
export function nativeWatch(): WatchCalls {
  const { pageSize, watch, watchStart, watchStop, watchClose } = load();
  if (!pageSize || !watch || !watchStart || !watchStop || !watchClose)
    throw new Error('bpfmap: the native addon predates ring buffer support; rebuild it with `npm rebuild bpfmap`');
  return { pageSize, watch, watchStart, watchStop, watchClose };
}

/** fcntl(fd, F_DUPFD_CLOEXEC): the new fd, or -errno; says so for an older build without it. */
export function nativeDup(fd: number): number {
  const { dup } = load();
  if (!dup) throw new Error('bpfmap: the native addon predates dup support; rebuild it with `npm rebuild bpfmap`');
  return dup(fd);
}

/** The huge-page advice, or undefined where the addon cannot load or predates it. */
export function nativeHugePages(): HugePagesCall | undefined {
  try {
    return load().hugePages;
  } catch {
    return undefined;
  }
}

function load(): Addon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    // From the package root (three levels above dist/src/sys/): build/Release when the install
    // built from source, else the prebuilt addon in prebuilds/ that fits this platform and libc.
    addon = nodeGypBuild(fileURLToPath(new URL('../../..', import.meta.url))) as Addon;
    return addon;
  } catch (e) {
    loadError = new Error(
      `bpfmap: the native bpf() addon is not available (${(e as Error).message}). ` +
        'It is built by `npm install` on Linux; elsewhere use the emulated kernel (BPFMAP_KERNEL=emulated).',
      { cause: e },
    );
    throw loadError;
  }
}

/** Why the addon cannot be loaded (the loader's own error is its cause), or undefined when it loads. */
export function nativeLoadError(): Error | undefined {
  try {
    nativeBpf();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}
