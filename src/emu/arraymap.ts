// Arrays (kernel/bpf/arraymap.c): array, percpu_array, array_of_maps and prog_array. Every index
// below max_entries exists (zeroed until written); elements are kept sparsely, so large arrays
// cost nothing. The emulator has no programs: a prog_array stays empty, as the kernel's does
// until a program fd is stored.
import { BPF_ANY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
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
    this.values.set(i, copyBytes(value, 0, this.bytes));
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
    return [...this.values].sort((a, b) => a[0] - b[0]).map(([i, value]) => {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, i, true);
      return { key, value };
    });
  }

  restore(entries: readonly EmuEntry[]): void {
    for (const e of entries) this.values.set(index(e.key), copyBytes(e.value));
  }

  clear(): void {
    this.values.clear();
  }

  override innerMaps(): EmuMap[] {
    return [...this.slots.values()];
  }
}
