import type { MapCreateAttr } from '../sys/map-create.js';
import type { RawMapInfo } from '../sys/map-info.js';
import type { RawBtfInfo } from '../sys/btf.js';
import type { LookupBatchArgs, WriteBatchArgs } from '../sys/batch.js';
import type { FdWatch, RingMapping } from '../sys/ringbuf.js';

export type { MapCreateAttr };
/** What the kernel says of a map (struct bpf_map_info). */
export type MapInfo = RawMapInfo;
/** What the kernel says of a BTF object (struct bpf_btf_info). */
export type BtfInfo = RawBtfInfo;

export type { LookupBatchArgs, WriteBatchArgs };
export type { FdWatch };

/** A ring buffer map's memory as its consumer and producer share it (see sys/ringbuf.ts). */
export interface RingMemory extends RingMapping {
  /** The unit of the layout: the consumer page, the producer page. */
  pageSize: number;
  /** Bytes of data (max_entries); the producer buffer holds them twice after its page. */
  dataSize: number;
}

/** One lookup batch call's outcome at the Kernel seam (BpfMap's LookupBatchResult<K, V> decodes it). */
export interface LookupBatchStep {
  /** Entries written to keys/values. */
  count: number;
  /** The kernel answered ENOENT: no entry after these. */
  done: boolean;
}

/**
 * One call of an element sequence (Kernel.elemSequence), at byte offsets of its two buffers:
 * lookup reads the key at keys[key] into values[out]; nextKey writes the key after the one at
 * keys[key] into keys[out].
 */
export interface ElemCall {
  op: 'lookup' | 'nextKey';
  key: number;
  out: number;
}

/** Element calls prepared once by Kernel.elemSequence, made as often as asked. */
export interface ElemSequence {
  /**
   * Makes the calls in order until one answers ENOENT (lookup: no such key; nextKey: the end, or
   * no key after it), and returns how many were made before it: all of them when none did. Any
   * other failure throws that call's BpfError.
   */
  run(): number;
}

/** The most calls an element sequence holds. */
export const MAX_SEQUENCE_CALLS = 0xffff;

/** Sizes a kernel knows of an open map, so no buffer it is handed can be too short. */
export interface MapSizes {
  type: number;
  keySize: number;
  valueSize: number;
  /** Bytes of one value as the syscalls see it: per-CPU maps, round_up(valueSize, 8) * possible CPUs. */
  valueBytes: number;
  /** Bytes of the batch cursor: max(keySize, 4). */
  cursorSize: number;
}

/**
 * Element updates made off the calling thread: an update that swaps a map-in-map slot waits for
 * an RCU grace period (tens of ms), which the event loop should not.
 */
export interface AsyncUpdater {
  /** Kernel.update, resolved when the kernel has answered; a failure rejects with the same BpfError. */
  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): Promise<void>;
  /** Stops the updater; an update in flight rejects (the element may or may not be written). */
  close(): Promise<void>;
}

/**
 * One method per bpf command, for maps. Implemented by the real kernel (LinuxKernel) and the
 * emulated one (EmulatedKernel); both throw the same BpfError. Methods return false where
 * the kernel's ENOENT is an expected outcome (missing key, end of walk).
 */
export interface Kernel {
  readonly kind: 'linux' | 'emulated';
  /**
   * Why this kernel answers: what asked for it (openKernel's argument, BPFMAP_KERNEL), or why the
   * real kernel could not be used (bpf() refused, the addon missing) when openKernel() fell back.
   */
  readonly reason: string;
  /** How many CPUs a per-CPU value has a slot for (the possible CPUs). */
  possibleCpus(): number;
  /** Creates a map; returns its fd. */
  mapCreate(attr: MapCreateAttr): number;
  /** The map's info (BPF_OBJ_GET_INFO_BY_FD): id, type, sizes, name, flags, BTF ids. */
  mapInfo(fd: number): MapInfo;
  /** Sizes of an open map (cached from its info). */
  sizes(fd: number): MapSizes;
  /**
   * Bytes the kernel charges for the map: fdinfo's memlock (the kernel's own estimate since
   * 6.4), else an estimate from its sizes (kernel/sizes.ts memoryEstimate).
   */
  mapMemory(fd: number): number;
  /** True once the map is frozen (BPF_MAP_FREEZE): read-only to userspace for good. */
  mapFrozen(fd: number): boolean;
  /**
   * A second fd on the map open as fd (fcntl F_DUPFD_CLOEXEC on the real kernel), with the same
   * access: a map adopted from another library that keeps (and closes) its own fd.
   */
  mapDup(fd: number): number;
  /** Reads the value of key into value; false when there is no such key. */
  lookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean;
  /** Writes value under key (null for queue/stack push); flags are BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK. */
  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void;
  /** False when there is no such key. */
  delete(fd: number, key: Uint8Array): boolean;
  /** Writes the key after key (null: the first) into next; false at the end. */
  nextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean;
  /**
   * Lookups and nextKeys over two buffers, checked and laid out once, then made as a run by each
   * run() (the real kernel: every call of the run in one call into the addon): the steps of a
   * per-element walk. flags are the lookups' (BPF_F_LOCK). The buffers are the sequence's for its
   * life: the calls read and write them in place.
   */
  elemSequence(fd: number, keys: Uint8Array, values: Uint8Array, calls: readonly ElemCall[], flags: number): ElemSequence;
  /** Reads and removes key (null for queue/stack pop); false when absent/empty. */
  lookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean;
  /**
   * Maps the memory of an mmapable array (BPF_F_MMAPABLE): its values at round_up(valueSize, 8)
   * strides, whole pages (sys/mmap.ts mmapBytes), shared with the kernel and BPF programs. Read-only
   * unless writable; a write through a read-only mapping of the real kernel kills the process
   * (SIGSEGV). Throws MmapError: EPERM for a frozen map mapped writable, EACCES for an fd without
   * the access, EINVAL for an array without the flag and for an fd opened read-only (mmap(2) maps a
   * file not open for writing privately, which bpf refuses).
   */
  mapMmap(fd: number, writable: boolean): ArrayBuffer;
  /**
   * Unmaps memory mapMmap returned; its views then read zeros and keep their length (no buffer is
   * detached: one detach makes V8 check every typed-array access of the process from then on).
   * The real kernel puts private zero pages in the map's place (sys/mmap.ts unmapMemory). The
   * emulated kernel's memory is one buffer per map, shared by every handle: all of its mappings
   * end at once, and the values move to a new buffer (mapMemoryLive tells).
   */
  mapMunmap(fd: number, memory: ArrayBuffer): void;
  /**
   * False once memory from mapMmap was unmapped by another handle of the map (the emulated kernel);
   * a real kernel's mapping belongs to the handle that made it and ends only by its own mapMunmap.
   */
  mapMemoryLive(memory: ArrayBuffer): boolean;
  /** Makes the map read-only to userspace; EBUSY while it has a writable mapping (mapMmap). */
  freeze(fd: number): void;
  /** Pins the map at path on a bpf filesystem (BPF_OBJ_PIN). */
  pin(fd: number, path: string): void;
  /** Removes the pin at path (unlink(2) on a bpffs pin); false when nothing was pinned there. */
  unpin(path: string): boolean;
  /**
   * Every path something may be pinned at, to be opened with objGet: the files of the bpf
   * filesystems mounted here (at most PIN_WALK_LIMIT, unreadable directories left out), or the
   * emulator's pins.
   */
  pinPaths(): string[];
  /** Opens a pinned map; throws when the path holds no map. */
  objGet(path: string, fileFlags: number): number;
  /** The next map id after startId, or null past the last. */
  nextMapId(startId: number): number | null;
  /** Opens the map with this id (BPF_MAP_GET_FD_BY_ID); returns its fd. */
  mapFdById(id: number): number;
  /** One BPF_MAP_LOOKUP_BATCH call: reads up to args.count entries after the cursor. */
  lookupBatch(fd: number, args: LookupBatchArgs): LookupBatchStep;
  /** One BPF_MAP_LOOKUP_AND_DELETE_BATCH call: reads and removes up to args.count entries. */
  lookupAndDeleteBatch(fd: number, args: LookupBatchArgs): LookupBatchStep;
  /** A new updater of its own (LinuxKernel: a worker thread, started on first use). */
  asyncUpdater(): AsyncUpdater;
  /** Returns the count applied; a failure throws BpfError with .count applied. */
  updateBatch(fd: number, args: WriteBatchArgs): number;
  /** Returns the count deleted; a failure throws BpfError with .count applied. */
  deleteBatch(fd: number, args: WriteBatchArgs): number;
  /**
   * Loads a BTF blob (BPF_BTF_LOAD); returns its fd. When the kernel refuses it, the BpfError's
   * hint quotes the kernel's BTF log.
   */
  btfLoad(blob: Uint8Array): number;
  /** Opens the BTF object with this id (a map's btf_id, or 1 for vmlinux). */
  btfFdById(id: number): number;
  /** The next BTF object id after startId, or null past the last. */
  nextBtfId(startId: number): number | null;
  /** The BTF object's info (BPF_OBJ_GET_INFO_BY_FD): id, size, name. */
  btfInfo(fd: number): BtfInfo;
  /** The blob of a BTF object, as loaded (or the kernel's own). */
  btfData(fd: number): Buffer;
  /**
   * Maps a RINGBUF or USER_RINGBUF map (throws for any other type): the consumer page writable for
   * a RINGBUF, the producer page and data for a USER_RINGBUF.
   */
  ringMemory(fd: number): RingMemory;
  /** Watches a ring buffer map for readiness (data to read; room to write for a USER_RINGBUF) on the event loop. */
  ringWatch(fd: number, onReady: () => void): FdWatch;
  /** Closes a map or BTF fd. */
  close(fd: number): void;
}
