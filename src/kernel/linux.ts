import { closeSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BPF_BTF_GET_FD_BY_ID,
  BPF_BTF_GET_NEXT_ID,
  BPF_BTF_LOAD,
  BPF_MAP_CREATE,
  BPF_MAP_DELETE_BATCH,
  BPF_MAP_DELETE_ELEM,
  BPF_MAP_FREEZE,
  BPF_MAP_GET_FD_BY_ID,
  BPF_MAP_GET_NEXT_ID,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_RINGBUF,
  BPF_MAP_TYPE_USER_RINGBUF,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_OBJ_GET_INFO_BY_FD,
  BPF_OBJ_PIN,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { sysMapBatch, type BatchReply } from '../sys/batch.js';
import { sysBtfGetFdById, sysBtfGetNextId, sysBtfInfo, sysBtfLoad } from '../sys/btf.js';
import { sysMapCreate, type MapCreateAttr } from '../sys/map-create.js';
import {
  sysElemSequence,
  sysMapDeleteElem,
  sysMapFreeze,
  sysMapGetNextKey,
  sysMapLookupAndDeleteElem,
  sysMapLookupElem,
  sysMapUpdateElem,
} from '../sys/map-elem.js';
import { sysMapInfo } from '../sys/map-info.js';
import { nativeDup } from '../sys/native.js';
import { mapMemory, mmapBytes, unmapMemory } from '../sys/mmap.js';
import { sysObjGet, sysObjPin } from '../sys/obj.js';
import { mapRing, pageSize, watchFd, type FdWatch } from '../sys/ringbuf.js';
import { sysMapGetFdById, sysMapGetNextId } from '../sys/obj-id.js';
import { type ElemContext, batchArgs, btfBlob, checkObjPath, createContext, elemArgs, elemOutcome, elemSequenceArgs, mapCreateArgs, need, nextKeyArgs, u32 } from './checks.js';
import { checkedPossibleCpus } from './cpus.js';
import { bpffsFiles, onBpffs, pathContext } from './bpffs.js';
import { BatchCommands } from './adapter.js';
import { BpfError } from './error.js';
import type { HintContext } from './hints.js';
import type { AsyncUpdater, BtfInfo, ElemCall, ElemSequence, Kernel, LookupBatchArgs, MapInfo, MapSizes, RingMemory, WriteBatchArgs } from './kernel.js';
import { isPerCpuType, memoryEstimate, sizesOf } from './sizes.js';
import type { UpdateThread } from './update-thread.js';

const ENOENT = errno.ENOENT;

/** A GET_NEXT_ID's return: the id, null past the last (ENOENT). */
function nextId(cmd: number, r: number): number | null {
  if (r >= 0) return r;
  elemOutcome(cmd, -r, { enoentFalse: true }); // throws unless ENOENT
  return null;
}

/** Room for the kernel's BTF log when a load fails (it keeps the log's tail, where the error is). */
const BTF_LOG_SIZE = 64 * 1024;

/** The lines of a BTF log that say what is wrong: the complaint, with the type it is about. */
function btfLogHint(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines[lines.length - 1];
  if (last === undefined) return 'the kernel rejected the BTF blob (no log)';
  const isType = (l: string): boolean => /^\[\d+\]/.test(l);
  // Member lines ("name type_id=... bits_offset=...") follow their type's line: name that type too.
  const owner = isType(last) ? undefined : lines.slice(0, -1).reverse().find(isType);
  return `the kernel's BTF check says: ${owner ? `${owner}: ` : ''}${last}`;
}

/** The error's options for a failed pin or OBJ_GET: what the path's directory says, when it explains the errno. */
function pathError(err: number, path: string): { map: { path: string }; context: HintContext } {
  return { map: { path }, context: pathContext(err, path) };
}

/** O_ACCMODE of an fd's f_flags (fdinfo's "flags", octal), as the access a bpf map fd was opened with. */
const ACCESS = ['read-only', 'write-only', 'read-write'] as const;

/** What /proc says of one of this process's fds; undefined when it cannot be read. */
function fdinfo(fd: number): string | undefined {
  try {
    return readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Undefined when fd is a BPF map; else what it is ("bpf-prog", a file's path). */
function notMap(fd: number): string | undefined {
  let kind: string;
  try {
    kind = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    kind = 'unknown';
  }
  return kind === 'anon_inode:bpf-map' ? undefined : kind.replace(/^anon_inode:/, '');
}

/** The real kernel, through the native bpf() call. */
export class LinuxKernel extends BatchCommands implements Kernel {
  readonly kind = 'linux' as const;
  readonly reason: string;
  private readonly open = new Map<number, MapSizes>();
  private readonly btfs = new Set<number>();
  /** The map_flags of fds this object created: the kernel keeps no rdonly/wronly, which made the fd so. */
  private readonly createFlags = new Map<number, number>();

  constructor(opts: { reason?: string } = {}) {
    super();
    this.reason = opts.reason ?? 'created directly (new LinuxKernel())';
  }

  /** Refused (throws) when sysfs and the kernel disagree: per-CPU buffers sized from it could be overrun. */
  possibleCpus(): number {
    return checkedPossibleCpus();
  }

  private track(fd: number): number {
    try {
      const info = this.mapInfo(fd);
      // Only per-CPU maps need the CPU count: other maps open even where it cannot be checked.
      this.open.set(fd, sizesOf(info, isPerCpuType(info.type) ? this.possibleCpus() : 1));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return fd;
  }

  /**
   * Lets this kernel use a map fd that another thread's LinuxKernel opened (fds are per process):
   * its sizes are read from the kernel, as for an fd this kernel opened. The fd stays the
   * opener's to close.
   */
  adopt(fd: number): void {
    u32(fd, 'fd');
    const info = this.mapInfo(fd);
    this.open.set(fd, sizesOf(info, isPerCpuType(info.type) ? this.possibleCpus() : 1));
  }

  /**
   * What the kernel says of an open map fd for a hint: its type, flags and size, how the fd was
   * opened and whether the map is frozen (fdinfo). Only read when a command failed.
   */
  protected hintContext(fd: number): HintContext {
    if (!this.open.has(fd)) return {};
    const ctx: HintContext = {};
    const created = this.createFlags.get(fd);
    if (created !== undefined) ctx.createFlags = created;
    const info = sysMapInfo(fd);
    if (typeof info !== 'number') Object.assign(ctx, { mapType: info.type, mapFlags: info.flags, maxEntries: info.maxEntries });
    // fdinfo unreadable: the hint lists the possible causes.
    const text = fdinfo(fd) ?? '';
    const flags = /^flags:\s*([0-7]+)/m.exec(text);
    const frozen = /^frozen:\s*(\d+)/m.exec(text);
    if (flags && frozen) {
      ctx.access = ACCESS[parseInt(flags[1] as string, 8) & 3];
      ctx.frozen = frozen[1] !== '0';
    }
    return ctx;
  }

  /** An element command's return (0, or -errno) as its outcome; a failure's hint is chosen with what fd's map says. */
  private outcome(fd: number, cmd: number, r: number, ctx: ElemContext = {}): boolean {
    if (r >= 0) return true;
    return this.onFd(fd, () => elemOutcome(cmd, -r, ctx));
  }

  sizes(fd: number): MapSizes {
    const s = this.open.get(fd);
    if (!s) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EBADF);
    return s;
  }

  mapMemory(fd: number): number {
    const s = this.sizes(fd);
    const m = /^memlock:\s*(\d+)/m.exec(fdinfo(fd) ?? '');
    if (m) return Number(m[1]);
    // fdinfo unreadable: an estimate.
    return memoryEstimate(this.mapInfo(fd), s);
  }

  mapCreate(attr: MapCreateAttr): number {
    mapCreateArgs(attr);
    const fd = sysMapCreate(attr);
    if (fd < 0) throw new BpfError(BPF_MAP_CREATE, -fd, { map: attr.name ? { name: attr.name } : {}, context: createContext(attr) });
    this.track(fd);
    this.createFlags.set(fd, attr.mapFlags);
    return fd;
  }

  mapInfo(fd: number): MapInfo {
    const r = sysMapInfo(fd);
    if (typeof r === 'number') throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, -r);
    return r;
  }

  lookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_LOOKUP_ELEM, s, key, value, flags);
    const r = sysMapLookupElem(fd, key, s.keySize, value, s.valueBytes, flags);
    return this.outcome(fd, BPF_MAP_LOOKUP_ELEM, r, { enoentFalse: true, elemFlags: flags });
  }

  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_UPDATE_ELEM, s, key, value, flags);
    const r = sysMapUpdateElem(fd, key, s.keySize, value, s.valueBytes, flags);
    this.outcome(fd, BPF_MAP_UPDATE_ELEM, r, { elemFlags: flags });
  }

  delete(fd: number, key: Uint8Array): boolean {
    const s = this.sizes(fd);
    need(key, s.keySize, 'key');
    const r = sysMapDeleteElem(fd, key, s.keySize);
    return this.outcome(fd, BPF_MAP_DELETE_ELEM, r, { enoentFalse: true });
  }

  nextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
    const s = this.sizes(fd);
    nextKeyArgs(s, key, next);
    const r = sysMapGetNextKey(fd, key, s.keySize, next);
    return this.outcome(fd, BPF_MAP_GET_NEXT_KEY, r, { enoentFalse: true });
  }

  elemSequence(fd: number, keys: Uint8Array, values: Uint8Array, calls: readonly ElemCall[], flags: number): ElemSequence {
    const s = this.sizes(fd);
    elemSequenceArgs(s, keys, values, calls, flags);
    const cmds = calls.map((c) => (c.op === 'lookup' ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_GET_NEXT_KEY));
    const run = sysElemSequence(
      fd,
      [keys, values],
      calls.map((c, i) =>
        c.op === 'lookup'
          ? { cmd: cmds[i] as number, flags, key: [0, c.key, s.keySize], value: [1, c.out, s.valueBytes] }
          : { cmd: cmds[i] as number, flags: 0, key: [0, c.key, s.keySize], value: [0, c.out, s.keySize] },
      ),
    );
    return {
      run: () => {
        // The sizes the buffers were checked against are still this fd's: a closed fd, or its
        // number reused by another map, must not be called with them.
        if (this.open.get(fd) !== s)
          throw new BpfError(cmds[0] as number, errno.EBADF, { hint: 'the fd was closed after the sequence was made' });
        const r = run();
        const made = r & 0xffff;
        const err = r >>> 16;
        if (err !== 0 && err !== ENOENT) {
          const cmd = cmds[made] as number;
          this.outcome(fd, cmd, -err, cmd === BPF_MAP_LOOKUP_ELEM ? { elemFlags: flags } : {});
        }
        return made;
      },
    };
  }

  lookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_LOOKUP_AND_DELETE_ELEM, s, key, value, flags);
    const r = sysMapLookupAndDeleteElem(fd, key, s.keySize, value, s.valueBytes, flags);
    return this.outcome(fd, BPF_MAP_LOOKUP_AND_DELETE_ELEM, r, { enoentFalse: true, elemFlags: flags });
  }

  mapMmap(fd: number, writable: boolean): ArrayBuffer {
    this.sizes(fd);
    const info = this.mapInfo(fd);
    return mapMemory(fd, mmapBytes(info.valueSize, info.maxEntries), 0, writable);
  }

  mapMunmap(_fd: number, memory: ArrayBuffer): void {
    unmapMemory(memory);
  }

  mapMemoryLive(): boolean {
    return true;
  }

  freeze(fd: number): void {
    this.sizes(fd);
    const r = sysMapFreeze(fd);
    this.outcome(fd, BPF_MAP_FREEZE, r);
  }

  pin(fd: number, path: string): void {
    checkObjPath(path);
    this.sizes(fd);
    const r = sysObjPin(fd, path);
    if (r < 0) throw new BpfError(BPF_OBJ_PIN, -r, pathError(-r, path)).refine(this.hintContext(fd));
  }

  unpin(path: string): boolean {
    checkObjPath(path);
    // Only an entry of a bpf filesystem is a pin: a file anywhere else is left alone.
    if (onBpffs(dirname(path)) !== true) return false;
    try {
      unlinkSync(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  pinPaths(): string[] {
    return bpffsFiles();
  }

  objGet(path: string, fileFlags: number): number {
    checkObjPath(path);
    const fd = sysObjGet(path, fileFlags);
    if (fd < 0) throw new BpfError(BPF_OBJ_GET, -fd, pathError(-fd, path));
    const kind = notMap(fd);
    if (kind !== undefined) {
      closeSync(fd);
      throw new BpfError(BPF_OBJ_GET, errno.EINVAL, { map: { path }, hint: `the object pinned there is not a map (${kind})` });
    }
    return this.track(fd);
  }

  mapDup(fd: number): number {
    u32(fd, 'fd');
    const dup = nativeDup(fd);
    if (dup < 0) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, -dup, { hint: `fd ${fd} is not open in this process` });
    const kind = notMap(dup);
    if (kind !== undefined) {
      closeSync(dup);
      throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EINVAL, { hint: `fd ${fd} is not a BPF map (${kind})` });
    }
    return this.track(dup);
  }

  mapFrozen(fd: number): boolean {
    this.sizes(fd);
    // fdinfo says "frozen: 1" once BPF_MAP_FREEZE succeeded (kernel 5.2+).
    return /^frozen:\s*1$/m.test(fdinfo(fd) ?? '');
  }

  nextMapId(startId: number): number | null {
    u32(startId, 'map id');
    return nextId(BPF_MAP_GET_NEXT_ID, sysMapGetNextId(startId));
  }

  mapFdById(id: number): number {
    u32(id, 'map id');
    const fd = sysMapGetFdById(id, 0);
    if (fd < 0) throw new BpfError(BPF_MAP_GET_FD_BY_ID, -fd, { map: { id } });
    return this.track(fd);
  }

  /**
   * Updates on a worker thread of the updater's own, checked here first. The thread's module is
   * loaded with the first update: a process that never asks (the CLI) loads no worker_threads.
   */
  asyncUpdater(): AsyncUpdater {
    let thread: Promise<UpdateThread> | undefined;
    return {
      update: async (fd, key, value, flags) => {
        const s = this.sizes(fd);
        elemArgs(BPF_MAP_UPDATE_ELEM, s, key, value, flags);
        thread ??= import('./update-thread.js').then((m) => new m.UpdateThread());
        const r = await (await thread).update(fd, key && key.subarray(0, s.keySize), value.subarray(0, s.valueBytes), flags);
        this.outcome(fd, BPF_MAP_UPDATE_ELEM, r, { elemFlags: flags });
      },
      close: async () => {
        const t = thread;
        thread = undefined;
        await (await t)?.close();
      },
    };
  }

  protected batch(cmd: number, fd: number, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null): BatchReply {
    const s = this.sizes(fd);
    batchArgs(cmd, s, args, lookup);
    const withValues = cmd !== BPF_MAP_DELETE_BATCH;
    return sysMapBatch({
      cmd,
      fd,
      inBatch: lookup?.inBatch ?? null,
      outBatch: lookup?.outBatch ?? null,
      cursorLen: s.cursorSize,
      keys: args.keys,
      keysLen: args.count * s.keySize,
      values: withValues ? args.values : null,
      valuesLen: withValues ? args.count * s.valueBytes : 0,
      count: args.count,
      elemFlags: BigInt(args.elemFlags),
      flags: BigInt(args.flags),
    });
  }

  btfLoad(blob: Uint8Array): number {
    btfBlob(blob);
    const [fd] = sysBtfLoad(blob, null, 0);
    if (fd >= 0) {
      this.btfs.add(fd);
      return fd;
    }
    // Load again with a log only on failure: the log is what makes the error actionable.
    const log = Buffer.alloc(BTF_LOG_SIZE);
    const [again] = sysBtfLoad(blob, log, 1);
    if (again >= 0) {
      this.btfs.add(again);
      return again;
    }
    const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0)));
    throw new BpfError(BPF_BTF_LOAD, -fd, { hint: errno.EPERM === -fd ? undefined : btfLogHint(text) });
  }

  btfFdById(id: number): number {
    u32(id, 'btf id');
    const fd = sysBtfGetFdById(id);
    if (fd < 0)
      throw new BpfError(BPF_BTF_GET_FD_BY_ID, -fd, -fd === ENOENT ? { hint: `no BTF object has id ${id} (it may have been freed)` } : {});
    this.btfs.add(fd);
    return fd;
  }

  nextBtfId(startId: number): number | null {
    u32(startId, 'btf id');
    return nextId(BPF_BTF_GET_NEXT_ID, sysBtfGetNextId(startId));
  }

  private btfFd(fd: number): void {
    if (!this.btfs.has(fd)) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EBADF, { hint: 'not a BTF fd opened by this kernel object' });
  }

  btfInfo(fd: number): BtfInfo {
    this.btfFd(fd);
    const r = sysBtfInfo(fd, null);
    if (typeof r === 'number') throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, -r);
    return r;
  }

  btfData(fd: number): Buffer {
    const { size } = this.btfInfo(fd);
    const data = Buffer.alloc(size);
    const r = sysBtfInfo(fd, data);
    if (typeof r === 'number') throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, -r);
    // The blob cannot change once loaded; a different size means a different object.
    if (r.size !== size) throw new Error(`BTF fd ${fd}: blob size changed from ${size} to ${r.size}`);
    return data;
  }

  ringMemory(fd: number): RingMemory {
    const info = this.mapInfo(fd);
    if (info.type !== BPF_MAP_TYPE_RINGBUF && info.type !== BPF_MAP_TYPE_USER_RINGBUF)
      throw new TypeError(`ringMemory: map ${info.id} is not a ring buffer (type ${info.type})`);
    // The size is the kernel's own (max_entries): a mapping sized otherwise would let a record
    // header point past its end.
    const m = mapRing(fd, info.maxEntries, info.type === BPF_MAP_TYPE_USER_RINGBUF);
    return { ...m, unmap: m.unmap, pageSize: pageSize(), dataSize: info.maxEntries };
  }

  ringWatch(fd: number, onReady: () => void): FdWatch {
    return watchFd(fd, onReady);
  }

  close(fd: number): void {
    this.createFlags.delete(fd);
    if (this.open.delete(fd) || this.btfs.delete(fd)) closeSync(fd);
  }
}
