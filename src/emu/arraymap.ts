// Arrays (kernel/bpf/arraymap.c): array, percpu_array, array_of_maps and prog_array. Every index
// below max_entries exists (zeroed until written); elements are kept sparsely, so large arrays
// cost nothing. The emulator has no programs: a prog_array stays empty, as the kernel's does
// until a program fd is stored.
import { BPF_ANY, BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { mmapBytes } from '../sys/mmap-error.js';
import { fail } from './errno.js';
import { InnerMeta, valueFd, writeId, type InnerMaps } from './map-in-map.js';
import { checkUpdateFlags, copyBytes, EmuMap, withoutLock, type BatchOps, type EmuEntry, type EmuMapAttr } from './map.js';

function index(key: Uint8Array): number {
  return new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
}

export class ArrayMap extends EmuMap {
  readonly batchOps: BatchOps;
  private readonly values = new Map<number, Uint8Array>();
  private readonly slots = new Map<number, EmuMap>();
  private readonly perCpu: boolean;
  private readonly meta: InnerMeta | null;
  private readonly inners: InnerMaps | null;
  private readonly prog: boolean;
  /**
   * BPF_F_MMAPABLE arrays: every value in one buffer at the kernel's strides, the memory mmap()
   * hands out (so writes through it and element calls see each other). On munmap the values move
   * to a new buffer and the old one is zeroed, so views of it read zeros as the real kernel's do.
   */
  private store: Uint8Array | null;
  private readonly stride: number;

  constructor(attr: EmuMapAttr, opts: { meta?: InnerMeta; inners?: InnerMaps } = {}) {
    super(attr);
    this.prog = attr.type === BPF_MAP_TYPE_PROG_ARRAY;
    // prog_array has no batch ops at all.
    this.batchOps = this.prog
      ? { lookup: null, lookupAndDelete: null, update: false, delete: false }
      : { lookup: 'generic', lookupAndDelete: null, update: true, delete: false };
    this.perCpu = attr.type === BPF_MAP_TYPE_PERCPU_ARRAY;
    this.meta = attr.type === BPF_MAP_TYPE_ARRAY_OF_MAPS ? (opts.meta ?? null) : null;
    this.inners = opts.inners ?? null;
    this.stride = Math.ceil(attr.valueSize / 8) * 8;
    this.store = null;
    if (attr.type === BPF_MAP_TYPE_ARRAY && (attr.flags & BPF_F_MMAPABLE) !== 0) {
      try {
        this.store = new Uint8Array(mmapBytes(attr.valueSize, attr.maxEntries));
      } catch {
        // The kernel's vmalloc failing: this process cannot hold the array.
        fail(errno.ENOMEM);
      }
    }
  }

  /** The memory of an mmapable array (null for other arrays). */
  get memory(): ArrayBuffer | null {
    return this.store === null ? null : (this.store.buffer as ArrayBuffer);
  }

  /**
   * Retires the memory handed out: the values live on in a new buffer and the old one reads zeros.
   * Not a detach, which would make V8 check every typed-array access of the process from then on.
   * Returns the old buffer (null for arrays without memory).
   */
  retireMemory(): ArrayBuffer | null {
    if (this.store === null) return null;
    const old = this.store;
    this.store = old.slice();
    old.fill(0);
    return old.buffer as ArrayBuffer;
  }

  private get bytes(): number {
    return this.perCpu ? this.attr.valueBytes : this.attr.valueSize;
  }

  lookup(key: Uint8Array, out: Uint8Array): void {
    const i = index(key);
    if (i >= this.attr.maxEntries) fail(errno.ENOENT);
    if (this.prog) fail(errno.ENOENT);
    if (this.meta) {
      const inner = this.slots.get(i);
      if (!inner) fail(errno.ENOENT);
      writeId(out, 0, inner);
      return;
    }
    if (this.store !== null) {
      out.set(this.store.subarray(i * this.stride, i * this.stride + this.attr.valueSize));
      return;
    }
    const v = this.values.get(i);
    if (v) out.set(v);
    else out.fill(0, 0, this.bytes);
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): void {
    const i = index(key);
    if (this.prog) {
      if (flags !== BPF_ANY) fail(errno.EINVAL);
      if (i >= this.attr.maxEntries) fail(errno.E2BIG);
      // No fd here is a program: a map fd is EINVAL, anything else EBADF.
      this.inners!.resolve(valueFd(value));
      fail(errno.EINVAL);
    }
    if (this.meta) {
      if (flags !== BPF_ANY) fail(errno.EINVAL);
      if (i >= this.attr.maxEntries) fail(errno.E2BIG);
      const inner = this.inners!.resolve(valueFd(value));
      this.meta.check(inner);
      this.inners!.hold(inner);
      const old = this.slots.get(i);
      this.slots.set(i, inner);
      if (old) this.inners!.release(old);
      return;
    }
    checkUpdateFlags(flags, !this.perCpu);
    if (i >= this.attr.maxEntries) fail(errno.E2BIG);
    if (withoutLock(flags) === BPF_NOEXIST) fail(errno.EEXIST);
    if (this.store !== null) this.store.set(value.subarray(0, this.attr.valueSize), i * this.stride);
    else this.values.set(i, copyBytes(value, 0, this.bytes));
  }

  delete(key: Uint8Array): void {
    if (!this.meta && !this.prog) fail(errno.EINVAL);
    const i = index(key);
    if (i >= this.attr.maxEntries) fail(errno.E2BIG);
    if (this.prog) fail(errno.ENOENT);
    const old = this.slots.get(i);
    if (!old) fail(errno.ENOENT);
    this.slots.delete(i);
    this.inners!.release(old);
  }

  nextKey(key: Uint8Array | null, out: Uint8Array): void {
    const i = key ? index(key) : 0xffffffff;
    let next: number;
    if (i >= this.attr.maxEntries) next = 0;
    else if (i === this.attr.maxEntries - 1) fail(errno.ENOENT);
    else next = i + 1;
    new DataView(out.buffer, out.byteOffset, 4).setUint32(0, next, true);
  }

  dump(): EmuEntry[] {
    if (this.store !== null) return this.storedEntries(this.store);
    return [...this.values].sort((a, b) => a[0] - b[0]).map(([i, value]) => {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i, true);
      return { key, value };
    });
  }

  /** The values of an mmapable array that are not all zero (what a never-written index holds). */
  private storedEntries(store: Uint8Array): EmuEntry[] {
    const out: EmuEntry[] = [];
    const { valueSize, maxEntries } = this.attr;
    for (let i = 0; i < maxEntries; i++) {
      const value = store.slice(i * this.stride, i * this.stride + valueSize);
      if (!value.some((b) => b !== 0)) continue;
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i, true);
      out.push({ key, value });
    }
    return out;
  }

  restore(entries: readonly EmuEntry[]): void {
    // An mmapable array is written in place: views of its memory stay valid.
    if (this.store !== null) for (const e of entries) this.store.set(e.value.subarray(0, this.attr.valueSize), index(e.key) * this.stride);
    else for (const e of entries) this.values.set(index(e.key), copyBytes(e.value));
  }

  clear(): void {
    this.values.clear();
    this.store?.fill(0);
  }

  override innerMaps(): EmuMap[] {
    return [...this.slots.values()];
  }
}
