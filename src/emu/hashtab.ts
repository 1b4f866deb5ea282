// The hash family (kernel/bpf/hashtab.c): hash, percpu_hash, lru_hash, lru_percpu_hash and
// hash_of_maps. Buckets, hash, insertion order, GET_NEXT_KEY and the batch walk follow the kernel.
import {
  BPF_EXIST,
  BPF_F_NO_COMMON_LRU,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_NOEXIST,
} from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import type { BatchReply, LookupBatchArgs } from '../sys/batch.js';
import { badElemFlags } from './batch.js';
import { fail } from './errno.js';
import { htabHash } from './jhash.js';
import { KernelLru, type LruNode } from './lru.js';
import { InnerMeta, valueFd, writeId, type InnerMaps } from './map-in-map.js';
import { checkUpdateFlags, copyBytes, EmuMap, hasLock, withoutLock, type BatchOps, type EmuEntry, type EmuMapAttr } from './map.js';

interface Elem {
  key: Uint8Array;
  /** The key as a string, for cheap equality. */
  id: string;
  hash: number;
  value: Uint8Array;
  /** hash_of_maps: the inner map the element holds. */
  inner: EmuMap | null;
  next: Elem | null;
  /** LRU maps: the element's node in the LRU. */
  node: LruNode<Elem> | null;
}

/** roundup_pow_of_two. */
export function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

export interface HashTabOptions {
  seed?: number;
  meta?: InnerMeta;
  inners?: InnerMaps;
  /** Possible CPUs (the LRU's per-CPU lists). */
  cpus?: number;
  /** The CPU a call runs on; CPU 0 by default. */
  cpu?: () => number;
}

export class HashTab extends EmuMap {
  readonly batchOps: BatchOps = { lookup: 'bucket', lookupAndDelete: 'bucket', update: true, delete: true };
  readonly nBuckets: number;
  /** The per-map jhash seed (0 with BPF_F_ZERO_SEED). */
  readonly seed: number;
  /** The heads of the non-empty buckets, and a bit per bucket saying which those are (walks skip the rest). */
  private readonly heads = new Map<number, Elem>();
  private readonly used: Uint32Array;
  private count = 0;
  private readonly perCpu: boolean;
  private lru: KernelLru<Elem> | null;
  private readonly meta: InnerMeta | null;
  private readonly inners: InnerMaps | null;
  private readonly lruCpus: number;
  /** The CPU the current call runs on (the LRU's per-CPU lists depend on it). */
  private readonly cpu: () => number;

  constructor(attr: EmuMapAttr, opts: HashTabOptions = {}) {
    super(attr);
    this.nBuckets = roundupPow2(attr.maxEntries);
    this.used = new Uint32Array(Math.ceil(this.nBuckets / 32));
    this.seed = attr.flags & BPF_F_ZERO_SEED ? 0 : (opts.seed ?? (Math.random() * 0x100000000) >>> 0);
    this.perCpu = attr.type === BPF_MAP_TYPE_PERCPU_HASH || attr.type === BPF_MAP_TYPE_LRU_PERCPU_HASH;
    const isLru = attr.type === BPF_MAP_TYPE_LRU_HASH || attr.type === BPF_MAP_TYPE_LRU_PERCPU_HASH;
    this.lruCpus = opts.cpus ?? 1;
    this.cpu = opts.cpu ?? (() => 0);
    this.lru = isLru ? this.newLru() : null;
    this.meta = attr.type === BPF_MAP_TYPE_HASH_OF_MAPS ? (opts.meta ?? null) : null;
    this.inners = opts.inners ?? null;
  }

  private newLru(): KernelLru<Elem> {
    // An evicted element leaves its bucket; its node goes to a free list inside the LRU.
    return new KernelLru<Elem>(this.attr.maxEntries, this.lruCpus, (this.attr.flags & BPF_F_NO_COMMON_LRU) !== 0, (e) => this.unlink(e));
  }

  private setHead(b: number, e: Elem | null): void {
    if (e) {
      this.heads.set(b, e);
      (this.used[b >>> 5] as number) |= 1 << (b & 31);
    } else {
      this.heads.delete(b);
      (this.used[b >>> 5] as number) &= ~(1 << (b & 31));
    }
  }

  /** The first non-empty bucket from b on, or nBuckets. */
  private nextBucket(b: number): number {
    let w = b >>> 5;
    let bits = ((this.used[w] ?? 0) >>> (b & 31)) << (b & 31);
    while (bits === 0) {
      if (++w >= this.used.length) return this.nBuckets;
      bits = this.used[w] as number;
    }
    return Math.min(w * 32 + (31 - Math.clz32(bits & -bits)), this.nBuckets);
  }

  private find(key: Uint8Array): { elem: Elem | null; hash: number } {
    const hash = htabHash(key, this.seed);
    const id = keyId(key);
    for (let e = this.heads.get(hash & (this.nBuckets - 1)) ?? null; e; e = e.next) {
      if (e.hash === hash && e.id === id) return { elem: e, hash };
    }
    return { elem: null, hash };
  }

  private unlink(elem: Elem): void {
    const b = elem.hash & (this.nBuckets - 1);
    let prev: Elem | null = null;
    for (let e = this.heads.get(b) ?? null; e; prev = e, e = e.next) {
      if (e !== elem) continue;
      if (prev) prev.next = e.next;
      else this.setHead(b, e.next);
      this.count--;
      return;
    }
  }

  /** Removes an element and gives back what it held (an LRU node goes back to the LRU). */
  private drop(elem: Elem): void {
    this.unlink(elem);
    if (elem.node) this.lru?.pushFree(elem.node);
    if (elem.inner) this.inners?.release(elem.inner);
  }

  private pushHead(elem: Elem): void {
    const b = elem.hash & (this.nBuckets - 1);
    elem.next = this.heads.get(b) ?? null;
    this.setHead(b, elem);
    this.count++;
  }

  private readValue(elem: Elem, out: Uint8Array, offset: number): void {
    if (elem.inner) writeId(out, offset, elem.inner);
    else out.set(elem.value, offset);
  }

  lookup(key: Uint8Array, out: Uint8Array): void {
    // A lookup by syscall does not count as a use for the LRU (the kernel keeps walks from skewing it).
    const { elem } = this.find(key);
    if (!elem) fail(errno.ENOENT);
    this.readValue(elem, out, 0);
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): void {
    let inner: EmuMap | null = null;
    if (this.meta) {
      // bpf_fd_htab_map_update_elem resolves the fd before anything else.
      inner = this.inners!.resolve(valueFd(value));
      this.meta.check(inner);
    }
    checkUpdateFlags(flags, !this.lru && !this.perCpu && !this.meta);
    const f = withoutLock(flags);
    const bytes = this.perCpu ? this.attr.valueBytes : this.attr.valueSize;
    if (this.lru) {
      this.updateLru(key, value.subarray(0, bytes), f);
      return;
    }
    const { elem: old, hash } = this.find(key);
    if (old && f === BPF_NOEXIST) fail(errno.EEXIST);
    if (!old && f === BPF_EXIST) fail(errno.ENOENT);
    if (old && (this.perCpu || inner || hasLock(flags))) {
      // Per-CPU maps and hash_of_maps update in place (htab_map_update_elem_in_place), and so
      // does BPF_F_LOCK (copy_map_value_locked): the element keeps its place in its bucket.
      if (inner) {
        this.inners!.hold(inner);
        const prev = old.inner;
        old.inner = inner;
        if (prev) this.inners!.release(prev);
      } else {
        old.value.set(value.subarray(0, bytes));
      }
      return;
    }
    if (!old && this.count >= this.attr.maxEntries) fail(errno.E2BIG);
    const elem: Elem = { key: copyBytes(key), id: keyId(key), hash, value: inner ? new Uint8Array(0) : copyBytes(value, 0, bytes), inner, next: null, node: null };
    if (inner) this.inners!.hold(inner);
    // The new element goes to the head of its bucket, then the old one is unlinked.
    this.pushHead(elem);
    if (old) this.drop(old);
  }

  /**
   * htab_lru_map_update_elem and __htab_lru_percpu_map_update_elem: a node is taken from the
   * LRU first (which may evict), even when the update then fails and gives it back.
   */
  private updateLru(key: Uint8Array, value: Uint8Array, f: number): void {
    const lru = this.lru as KernelLru<Elem>;
    // The per-CPU variant takes no node for BPF_EXIST: that updates in place or fails.
    const node = this.perCpu && f === BPF_EXIST ? null : lru.pop(this.cpu());
    if (!node && !(this.perCpu && f === BPF_EXIST)) fail(errno.ENOMEM);
    const { elem: old, hash } = this.find(key);
    if ((old && f === BPF_NOEXIST) || (!old && f === BPF_EXIST)) {
      if (node) lru.pushFree(node);
      fail(old ? errno.EEXIST : errno.ENOENT);
    }
    if (old && this.perCpu) {
      KernelLru.setRef(old.node as LruNode<Elem>);
      old.value.set(value);
      if (node) lru.pushFree(node);
      return;
    }
    const n = node as LruNode<Elem>;
    const elem: Elem = { key: copyBytes(key), id: keyId(key), hash, value: copyBytes(value), inner: null, next: null, node: n };
    n.elem = elem;
    this.pushHead(elem);
    if (old) {
      // The replacing element counts as used; the old one's node goes back.
      KernelLru.setRef(n);
      this.drop(old);
    }
  }

  delete(key: Uint8Array): void {
    const { elem } = this.find(key);
    if (!elem) fail(errno.ENOENT);
    this.drop(elem);
  }

  override lookupAndDelete(key: Uint8Array, out: Uint8Array, _flags: number): void {
    const { elem } = this.find(key);
    if (!elem) fail(errno.ENOENT);
    this.readValue(elem, out, 0);
    this.drop(elem);
  }

  nextKey(key: Uint8Array | null, out: Uint8Array): void {
    let i = 0;
    if (key) {
      const { elem, hash } = this.find(key);
      if (elem) {
        if (elem.next) {
          out.set(elem.next.key);
          return;
        }
        i = (hash & (this.nBuckets - 1)) + 1;
      }
    }
    const b = i < this.nBuckets ? this.nextBucket(i) : this.nBuckets;
    if (b >= this.nBuckets) fail(errno.ENOENT);
    out.set((this.heads.get(b) as Elem).key);
  }

  /** The kernel's bucket walk (__htab_map_lookup_and_delete_batch); the cursor is a u32 bucket index. */
  bucketBatch(a: LookupBatchArgs, del: boolean): BatchReply {
    if (badElemFlags(a.elemFlags, this) || a.flags !== 0) return { errno: errno.EINVAL, count: a.count };
    if (a.count === 0) return { errno: 0, count: 0 };
    let batch = a.inBatch ? new DataView(a.inBatch.buffer, a.inBatch.byteOffset, 4).getUint32(0, true) : 0;
    if (batch >= this.nBuckets) return { errno: errno.ENOENT, count: 0 };
    const { keySize } = this.attr;
    const stride = this.perCpu ? this.attr.valueBytes : this.attr.valueSize;
    let total = 0;
    let ret = 0;
    for (;;) {
      // Empty buckets only move the cursor on.
      batch = this.nextBucket(batch);
      if (batch >= this.nBuckets) {
        ret = errno.ENOENT;
        break;
      }
      const head = this.heads.get(batch) ?? null;
      let n = 0;
      for (let e = head; e; e = e.next) n++;
      if (n > a.count - total) {
        if (total === 0) ret = errno.ENOSPC;
        break;
      }
      for (let e = head; e;) {
        const next = e.next;
        a.keys.set(e.key, total * keySize);
        this.readValue(e, a.values, total * stride);
        total++;
        if (del) this.drop(e);
        e = next;
      }
      batch++;
      if (batch >= this.nBuckets) {
        ret = errno.ENOENT;
        break;
      }
    }
    new DataView(a.outBatch.buffer, a.outBatch.byteOffset, 4).setUint32(0, batch, true);
    return { errno: ret, count: total };
  }

  /** The heads of the non-empty buckets, in bucket order. */
  private *bucketHeads(): Generator<Elem> {
    for (let b = this.nextBucket(0); b < this.nBuckets; b = this.nextBucket(b + 1)) yield this.heads.get(b) as Elem;
  }

  dump(): EmuEntry[] {
    // Bucket by bucket, each bucket tail first: restoring by head insertion rebuilds the same
    // lists. LRU maps add each element's rank in the order the LRU would evict them.
    const rank = new Map<Elem, number>(this.lru ? this.lru.order().map((e, i) => [e, i]) : []);
    const out: EmuEntry[] = [];
    for (const head of this.bucketHeads()) {
      const elems: Elem[] = [];
      for (let e: Elem | null = head; e; e = e.next) elems.push(e);
      for (let i = elems.length - 1; i >= 0; i--) {
        const e = elems[i] as Elem;
        const r = rank.get(e);
        out.push(r === undefined ? { key: e.key, value: e.value } : { key: e.key, value: e.value, rank: r });
      }
    }
    return out;
  }

  restore(entries: readonly EmuEntry[]): void {
    const ranked: Array<[number, Elem]> = [];
    for (const { key, value, rank } of entries) {
      const elem: Elem = { key: copyBytes(key), id: keyId(key), hash: htabHash(key, this.seed), value: copyBytes(value), inner: null, next: null, node: null };
      this.pushHead(elem);
      if (rank !== undefined) ranked.push([rank, elem]);
    }
    for (const [, e] of ranked.sort((a, b) => a[0] - b[0])) e.node = this.lru?.adopt(e) ?? null;
  }

  clear(): void {
    this.heads.clear();
    this.used.fill(0);
    this.count = 0;
    if (this.lru) this.lru = this.newLru();
  }

  override innerMaps(): EmuMap[] {
    const out: EmuMap[] = [];
    for (const head of this.bucketHeads()) for (let e: Elem | null = head; e; e = e.next) if (e.inner) out.push(e.inner);
    return out;
  }
}
