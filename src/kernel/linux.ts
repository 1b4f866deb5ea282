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
  sysMapDeleteElem,
  sysMapFreeze,
  sysMapGetNextKey,
  sysMapLookupAndDeleteElem,
  sysMapLookupElem,
  sysMapLookupNextKey,
  sysMapUpdateElem,
} from '../sys/map-elem.js';
import { sysMapInfo } from '../sys/map-info.js';
import { sysObjGet, sysObjPin } from '../sys/obj.js';
import { sysMapGetFdById, sysMapGetNextId } from '../sys/obj-id.js';
import { batchArgs, btfBlob, checkObjPath, elemArgs, elemOutcome, mapCreateArgs, need, nextKeyArgs, u32 } from './checks.js';
import { checkedPossibleCpus } from './cpus.js';
import { onBpffs, pinPathProblem } from './bpffs.js';
import { BatchCommands } from './adapter.js';
import { BpfError } from './error.js';
import { FOUND, MORE, type AsyncUpdater, type BtfInfo, type Kernel, type LookupBatchArgs, type MapInfo, type MapSizes, type WriteBatchArgs } from './kernel.js';
import { isPerCpuType, memoryEstimate, sizesOf } from './sizes.js';
import { UpdateThread } from './update-thread.js';

const ENOENT = errno.ENOENT;

/** A GET_NEXT_ID's return: the id, null past the last (ENOENT). */
function nextId(cmd: number, r: number): number | null {
  if (r >= 0) return r;
  elemOutcome(cmd, -r, { enoentFalse: true }); // throws unless ENOENT
  return null;
}

/** A syscall's return (a value, or -errno) as the errno, 0 for success. */
const err = (r: number): number => (r < 0 ? -r : 0);

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

const PATH_ERRNOS = new Set([errno.ENOENT, errno.EPERM, errno.EACCES, errno.EINVAL]);

/** The error's options for a failed pin or OBJ_GET: what the path's directory says, when it explains the errno. */
function pathError(err: number, path: string): { map: { path: string }; hint?: string } {
  const hint = PATH_ERRNOS.has(err) ? pinPathProblem(path) : undefined;
  return hint ? { map: { path }, hint } : { map: { path } };
}

/** The real kernel, through the native bpf() call. */
export class LinuxKernel extends BatchCommands implements Kernel {
  readonly kind = 'linux' as const;
  readonly reason: string;
  private readonly open = new Map<number, MapSizes>();
  private readonly btfs = new Set<number>();

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

  sizes(fd: number): MapSizes {
    const s = this.open.get(fd);
    if (!s) throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, errno.EBADF);
    return s;
  }

  mapMemory(fd: number): number {
    const s = this.sizes(fd);
    try {
      const m = /^memlock:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // fdinfo unreadable: the estimate below.
    }
    return memoryEstimate(this.mapInfo(fd), s);
  }

  mapCreate(attr: MapCreateAttr): number {
    mapCreateArgs(attr);
    const fd = sysMapCreate(attr);
    if (fd < 0) throw new BpfError(BPF_MAP_CREATE, -fd, { map: attr.name ? { name: attr.name } : {} });
    return this.track(fd);
  }

  mapInfo(fd: number): MapInfo {
    const r = sysMapInfo(fd);
    if (typeof r === 'number') throw new BpfError(BPF_OBJ_GET_INFO_BY_FD, -r);
    return r;
  }

  lookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_LOOKUP_ELEM, s, key, value, flags);
    return elemOutcome(BPF_MAP_LOOKUP_ELEM, err(sysMapLookupElem(fd, key, s.keySize, value, s.valueBytes, flags)), { enoentFalse: true, elemFlags: flags });
  }

  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_UPDATE_ELEM, s, key, value, flags);
    elemOutcome(BPF_MAP_UPDATE_ELEM, err(sysMapUpdateElem(fd, key, s.keySize, value, s.valueBytes, flags)), { elemFlags: flags });
  }

  delete(fd: number, key: Uint8Array): boolean {
    const s = this.sizes(fd);
    need(key, s.keySize, 'key');
    return elemOutcome(BPF_MAP_DELETE_ELEM, err(sysMapDeleteElem(fd, key, s.keySize)), { enoentFalse: true });
  }

  nextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean {
    const s = this.sizes(fd);
    nextKeyArgs(s, key, next);
    return elemOutcome(BPF_MAP_GET_NEXT_KEY, err(sysMapGetNextKey(fd, key, s.keySize, next)), { enoentFalse: true });
  }

  lookupNextKey(fd: number, key: Uint8Array, value: Uint8Array, flags: number, next: Uint8Array): number {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_LOOKUP_ELEM, s, key, value, flags);
    need(next, s.keySize, 'next key');
    const r = sysMapLookupNextKey(fd, key, s.keySize, value, s.valueBytes, flags, next);
    if (r === 0) return FOUND | MORE;
    const found = elemOutcome(BPF_MAP_LOOKUP_ELEM, r & 4095, { enoentFalse: true, elemFlags: flags });
    const more = elemOutcome(BPF_MAP_GET_NEXT_KEY, r >>> 12, { enoentFalse: true });
    return (found ? FOUND : 0) | (more ? MORE : 0);
  }

  lookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean {
    const s = this.sizes(fd);
    elemArgs(BPF_MAP_LOOKUP_AND_DELETE_ELEM, s, key, value, flags);
    return elemOutcome(BPF_MAP_LOOKUP_AND_DELETE_ELEM, err(sysMapLookupAndDeleteElem(fd, key, s.keySize, value, s.valueBytes, flags)), { enoentFalse: true, elemFlags: flags });
  }

  freeze(fd: number): void {
    this.sizes(fd);
    elemOutcome(BPF_MAP_FREEZE, err(sysMapFreeze(fd)));
  }

  pin(fd: number, path: string): void {
    checkObjPath(path);
    this.sizes(fd);
    const r = sysObjPin(fd, path);
    if (r < 0) throw new BpfError(BPF_OBJ_PIN, -r, pathError(-r, path));
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

  objGet(path: string, fileFlags: number): number {
    checkObjPath(path);
    const fd = sysObjGet(path, fileFlags);
    if (fd < 0) throw new BpfError(BPF_OBJ_GET, -fd, pathError(-fd, path));
    let kind: string;
    try {
      kind = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      kind = 'unknown';
    }
    if (kind !== 'anon_inode:bpf-map') {
      closeSync(fd);
      throw new BpfError(BPF_OBJ_GET, errno.EINVAL, {
        map: { path },
        hint: `the object pinned there is not a map (${kind.replace(/^anon_inode:/, '')})`,
      });
    }
    return this.track(fd);
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

  /** Updates on a worker thread of the updater's own, checked here first. */
  asyncUpdater(): AsyncUpdater {
    let thread: UpdateThread | undefined;
    return {
      update: async (fd, key, value, flags) => {
        const s = this.sizes(fd);
        elemArgs(BPF_MAP_UPDATE_ELEM, s, key, value, flags);
        thread ??= new UpdateThread();
        const r = await thread.update(fd, key && key.subarray(0, s.keySize), value.subarray(0, s.valueBytes), flags);
        elemOutcome(BPF_MAP_UPDATE_ELEM, err(r), { elemFlags: flags });
      },
      close: async () => {
        const t = thread;
        thread = undefined;
        await t?.close();
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

  close(fd: number): void {
    if (this.open.delete(fd) || this.btfs.delete(fd)) closeSync(fd);
  }
}
