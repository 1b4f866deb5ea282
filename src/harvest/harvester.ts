import type { Codec } from '../codec/codec.js';
import { cannotAdd, isPerCpu, sumPerCpu } from '../codec/percpu.js';
import { BpfError } from '../kernel/error.js';
import type { AsyncUpdater, Kernel } from '../kernel/kernel.js';
import { openKernel } from '../kernel/open.js';
import type { Dump } from '../map/dump.js';
import { internal } from '../map/internal.js';
import { BpfMap, type RawValue } from '../map/map.js';
import type { ValueCodec } from '../map/options.js';
import { mapTypeNumber, type MapFlagName, type MapTypeName } from '../map/types.js';

/** Inner map types a harvester swaps: the hash and array families, plain or per-CPU; LRU only with allowLossy. */
export type HarvestMapType = 'hash' | 'percpu_hash' | 'lru_hash' | 'lru_percpu_hash' | 'array' | 'percpu_array';

const types = (names: readonly MapTypeName[]): Set<number> => new Set(names.map(mapTypeNumber));
const HASHES = types(['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash']);
/** Inner types whose kernel evicts live keys, and their counts with them: harvested only with allowLossy. */
const LRUS = types(['lru_hash', 'lru_percpu_hash']);
const ARRAYS = types(['array', 'percpu_array']);
const OUTERS = types(['array_of_maps', 'hash_of_maps']);
/** The update flags of a swap (as set() with flags "any" gives them): BPF_ANY, the slot's map is replaced. */
const SWAP_FLAGS = 0;

interface InnerShape<K, V> {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  key: Codec<K> | undefined;
  value: ValueCodec<V> | undefined;
  kernel: Kernel;
}

/** Options every SwapHarvester constructor takes. */
export interface HarvesterCommon<K, V> {
  /** Key codec of the inner maps; raw Buffers by default. */
  key?: Codec<K>;
  /** Value codec of the inner maps (perCpu(...) for per-CPU maps); raw Buffers by default. */
  value?: ValueCodec<V>;
  /** The outer slot (array index, or u32 key of a hash_of_maps) holding the active map; default 0. */
  slot?: number;
  /**
   * Keep each harvested map, emptied, and swap it back in on the next harvest (default true):
   * two inner maps in all instead of a create and a free per harvest.
   */
  recycle?: boolean;
  /**
   * Accept LRU inner maps (lru_hash, lru_percpu_hash), and with them lost counts: the kernel's LRU
   * evicts live keys long before the map is full, and an evicted key's count goes with it. Off by
   * default: LRU inner maps are refused. With it, the harvester and every harvest say `lossy`.
   */
  allowLossy?: boolean;
}

/** Options of SwapHarvester.create: the two maps are made from these. */
export interface CreateHarvesterOptions<K, V> extends HarvesterCommon<K, V> {
  /** Inner map type. */
  type: HarvestMapType;
  /** Defaults to the key codec's size. */
  keySize?: number;
  /** Defaults to the value codec's (per-CPU: element's) size. */
  valueSize?: number;
  maxEntries: number;
  /** Inner map flags (e.g. ['no_prealloc']). */
  flags?: number | readonly MapFlagName[];
  /** Outer map type (default array_of_maps). */
  outerType?: 'array_of_maps' | 'hash_of_maps';
  /** Name of the outer map (at most 15 bytes); inner maps get none. */
  name?: string;
  kernel?: Kernel;
}

/** One harvested entry: key and value as the codecs decode them. */
export type HarvestEntry<K, V> = [key: K, value: V];

/**
 * What a harvest returns: the entries, and `lossy`, true when the inner maps are LRU maps (taken
 * with allowLossy) whose kernel may have evicted keys and their counts before the harvest.
 */
export type Harvest<T> = T[] & { readonly lossy: boolean };

function marked<T>(entries: T[], lossy: boolean): Harvest<T> {
  // Not enumerable: the result still compares and prints as the plain array of entries.
  return Object.defineProperty(entries, 'lossy', { value: lossy, enumerable: false }) as Harvest<T>;
}

/** A per-CPU value summed over CPUs: one element. */
export type Summed<V> = V extends Array<infer E> ? E : never;

function u32Buf(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function checkSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > 0xffffffff) throw new RangeError(`harvester slot must be a u32, got ${String(slot)}`);
  return slot;
}

/** The id of the map in an outer map's slot, 0 when empty. */
function slotMapId(outer: BpfMap, slotKey: Buffer): number {
  return outer.innerMapId(slotKey) ?? 0;
}

/** Refuses inner maps a harvest cannot read exactly once, unless the caller accepted the loss. */
function checkInner(m: BpfMap<unknown, unknown>, allowLossy: boolean | undefined): void {
  if (!HASHES.has(m.type) && !ARRAYS.has(m.type))
    throw new TypeError(`a harvester swaps hash and array maps (plain, per-CPU or LRU), not ${m.typeName}`);
  if (LRUS.has(m.type) && allowLossy !== true)
    throw new TypeError(`a harvester refuses ${m.typeName} inner maps: the kernel's LRU evicts live keys long before the map is full ` +
      '(free entries sit on per-CPU lists), and an evicted key\'s counts are lost, so harvests would not be exactly once. ' +
      'Use hash or percpu_hash, or pass allowLossy: true to accept the loss (harvests are then marked lossy)');
}

/** Another harvester or a loader put a different map in the harvester's slot. */
export class HarvestSlotError extends Error {
  override readonly name = 'HarvestSlotError';
  /** The map id this harvester swapped in last. */
  readonly expected: number;
  /** The map id the slot holds now (0: none). */
  readonly found: number;

  constructor(outer: BpfMap, slot: number, expected: number, found: number) {
    super(`another harvester or loader replaced slot ${slot} of map id ${outer.id}: it holds ${found === 0 ? 'no map' : `map id ${found}`}, ` +
      `not map id ${expected} that this harvester swapped in. Nothing was swapped; two harvesters on one slot would each take ` +
      'maps the other is counting into: harvest each slot with one harvester');
    this.expected = expected;
    this.found = found;
  }
}

/**
 * Harvests a map that BPF programs keep writing, losing nothing: the programs reach the map
 * through a slot of an outer map (array_of_maps or hash_of_maps); harvest() puts an empty map in
 * the slot and reads the one it took out.
 *
 * Why nothing is lost: the kernel's update of a map-in-map slot returns only after an RCU grace
 * period, that is after every program run that could have looked up the old inner map has
 * finished. Once the swap returns, no program writes the old map, so reading it sees every
 * increment made to it, and every later increment goes to the new map. A drain of a live map
 * (lookup then delete, or LOOKUP_AND_DELETE_BATCH) has no such cut: an add through a value
 * pointer a program got before the delete lands in the deleted element and is lost.
 *
 * Cost: the swap syscall waits for that grace period, typically tens of milliseconds, during
 * which harvest() blocks the calling thread; harvestAsync() waits in a worker thread instead.
 * Programs must look the inner map up through the slot on every run (never cache it), must not
 * be sleepable (the update waits for a normal RCU grace period, not a tasks-trace one), and
 * nothing else may write the harvested map or swap the slot (a harvest checks the slot still
 * holds its map: HarvestSlotError).
 *
 * Exactly once for hash, percpu_hash, array and percpu_array inner maps. LRU inner maps are
 * refused unless allowLossy: the kernel's LRU evicts live keys before the map is full.
 */
export class SwapHarvester<K = Buffer, V = RawValue> implements Disposable {
  /** The outer map: hand its fd to programs (BPF_PSEUDO_MAP_FD) or pin it. */
  readonly outer: BpfMap;
  /** The slot of the outer map holding the active map. */
  readonly slot: number;
  readonly recycle: boolean;
  /** True for LRU inner maps (accepted with allowLossy): harvests may miss evicted keys' counts. */
  readonly lossy: boolean;
  private swapMs = 0;
  private harvestCount = 0;
  private activeMap: BpfMap<K, V>;
  private spare: BpfMap<K, V> | undefined;
  private readonly shape: InnerShape<K, V>;
  private readonly ownsOuter: boolean;
  private readonly slotKey: Buffer;
  private busy = false;
  private updater: AsyncUpdater | undefined;

  private constructor(outer: BpfMap, active: BpfMap<K, V>, shape: InnerShape<K, V>, slot: number, recycle: boolean, ownsOuter: boolean) {
    this.outer = outer;
    this.activeMap = active;
    this.shape = shape;
    this.slot = slot;
    this.slotKey = u32Buf(slot);
    this.recycle = recycle;
    this.ownsOuter = ownsOuter;
    this.lossy = LRUS.has(shape.type);
  }

  /** Creates an outer map and a first inner map in its slot. */
  static create<K = Buffer, V = RawValue>(opts: CreateHarvesterOptions<K, V>): SwapHarvester<K, V> {
    const kernel = opts.kernel ?? openKernel();
    const outerType = opts.outerType ?? 'array_of_maps';
    if (outerType !== 'array_of_maps' && outerType !== 'hash_of_maps')
      throw new TypeError(`harvester outerType must be "array_of_maps" or "hash_of_maps", got "${String(outerType)}"`);
    const slot = checkSlot(opts.slot ?? 0);
    const first = BpfMap.create<K, V>({
      type: opts.type, keySize: opts.keySize, valueSize: opts.valueSize, maxEntries: opts.maxEntries,
      flags: opts.flags, key: opts.key, value: opts.value, kernel,
    });
    try {
      checkInner(first as unknown as BpfMap<unknown, unknown>, opts.allowLossy);
    } catch (e) {
      first.close();
      throw e;
    }
    let outer: BpfMap;
    try {
      outer = BpfMap.create({
        type: outerType, keySize: 4, valueSize: 4,
        maxEntries: outerType === 'array_of_maps' ? slot + 1 : 1,
        innerMap: first as unknown as BpfMap<unknown, unknown>, name: opts.name ?? '', kernel,
      });
    } catch (e) {
      first.close();
      throw e;
    }
    const h = new SwapHarvester<K, V>(outer, first, shapeOf(first, opts), slot, opts.recycle ?? true, true);
    try {
      h.swapSync(first);
    } catch (e) {
      h.close();
      throw e;
    }
    return h;
  }

  /**
   * Harvests through an existing outer map (e.g. one a loader pinned for its programs). The
   * inner map in the slot is opened by id and fresh maps copy its shape; the slot must hold a
   * map (the kernel does not report an outer map's inner template). Closing the harvester
   * leaves the outer map open.
   */
  static attach<K = Buffer, V = RawValue>(outer: BpfMap, opts: HarvesterCommon<K, V> = {}): SwapHarvester<K, V> {
    if (!OUTERS.has(outer.type)) throw new TypeError(`attach: the outer map must be array_of_maps or hash_of_maps, not ${outer.typeName}`);
    if (outer.keySize !== 4) throw new TypeError(`attach: the outer map's keys must be u32 slots, not ${outer.keySize} bytes`);
    const slot = checkSlot(opts.slot ?? 0);
    const active = outer.getMap<K, V>(u32Buf(slot), { key: opts.key, value: opts.value });
    if (active === undefined) throw new Error(`attach: slot ${slot} of map id ${outer.id} holds no map: put one there first`);
    try {
      checkInner(active as unknown as BpfMap<unknown, unknown>, opts.allowLossy);
    } catch (e) {
      active.close();
      throw e;
    }
    return new SwapHarvester<K, V>(outer, active, shapeOf(active, opts), slot, opts.recycle ?? true, false);
  }

  /** Milliseconds the last swap syscall took (the RCU grace period, mostly). */
  get lastSwapMs(): number {
    return this.swapMs;
  }

  /** Harvests done. */
  get harvests(): number {
    return this.harvestCount;
  }

  /**
   * The map in the slot now, that programs are writing. Read it for a live view; never delete
   * from it or harvest it by hand. It changes on every harvest.
   */
  get active(): BpfMap<K, V> {
    return this.activeMap;
  }

  /**
   * Swaps an empty map into the slot and returns every entry of the map taken out. Blocks the
   * calling thread for the swap (an RCU grace period, typically tens of ms); see harvestAsync().
   */
  harvest(): Harvest<HarvestEntry<K, V>> {
    this.begin();
    try {
      this.checkSlotHolds();
      const next = this.takeSpare();
      this.swapSync(next);
      return this.collect(next);
    } finally {
      this.busy = false;
    }
  }

  /**
   * harvest(), with the swap syscall made on a worker thread so the event loop keeps running
   * (the first call starts the thread). Reading the old map still runs on this thread.
   */
  async harvestAsync(): Promise<Harvest<HarvestEntry<K, V>>> {
    this.begin();
    try {
      this.checkSlotHolds();
      const next = this.takeSpare();
      this.updater ??= this.outer.kernel.asyncUpdater();
      const t0 = performance.now();
      try {
        await this.updater.update(this.outer.fd, this.slotKey, u32Buf(next.fd), SWAP_FLAGS);
      } catch (e) {
        // Refused: the slot still holds the active map, and next waits as the spare.
        if (e instanceof BpfError) {
          this.spare = next;
          throw this.outer[internal].annotate(e);
        }
        // The updater is gone (close() during the swap): the slot may hold either map.
        next.close();
        throw e;
      }
      this.swapMs = performance.now() - t0;
      return this.collect(next);
    } finally {
      this.busy = false;
    }
  }

  /**
   * harvest() with each per-CPU value summed over CPUs, exactly (sumPerCpu). Needs a perCpu()
   * value codec whose element can be added, e.g. perCpu(u64); checked before the swap.
   */
  harvestSummed(): Harvest<HarvestEntry<K, Summed<V>>> {
    const elem = this.addable();
    return this.summed(elem, this.harvest());
  }

  /** harvestAsync() with each per-CPU value summed over CPUs. */
  async harvestSummedAsync(): Promise<Harvest<HarvestEntry<K, Summed<V>>>> {
    const elem = this.addable();
    return this.summed(elem, await this.harvestAsync());
  }

  private summed(elem: Codec<unknown>, h: Harvest<HarvestEntry<K, V>>): Harvest<HarvestEntry<K, Summed<V>>> {
    return marked(h.map(([k, v]): HarvestEntry<K, Summed<V>> => [k, sumPerCpu(elem, v as unknown[]) as Summed<V>]), h.lossy);
  }

  /**
   * The slot must still hold the map this harvester swapped in: otherwise another harvester or a
   * loader replaced it, and swapping now would take their map. (Nothing makes the check and the
   * swap one step; it catches a second harvester, not a race with one.)
   */
  private checkSlotHolds(): void {
    const found = slotMapId(this.outer, this.slotKey);
    if (found !== this.activeMap.id) throw new HarvestSlotError(this.outer, this.slot, this.activeMap.id, found);
  }

  /** The per-CPU element codec, when it can add. */
  private addable(): Codec<unknown> {
    const c = this.shape.value;
    if (c === undefined || !isPerCpu(c))
      throw new TypeError(`harvestSummed: the inner maps need a perCpu() value codec (they are ${this.activeMap.typeName}${c === undefined ? ', read as raw bytes' : ''})`);
    const elem = c.elem;
    if (elem.add === undefined) throw cannotAdd('harvestSummed', elem);
    return elem;
  }

  private begin(): void {
    if (this.busy) throw new Error('a harvest is already in progress on this harvester (await harvestAsync() before the next one)');
    if (this.activeMap.closed) throw new Error('the harvester is closed');
    this.busy = true;
  }

  private takeSpare(): BpfMap<K, V> {
    const s = this.spare;
    this.spare = undefined;
    if (s) return s;
    return BpfMap.create<K, V>(this.shape);
  }

  private swapSync(next: BpfMap<K, V>): void {
    const t0 = performance.now();
    try {
      this.outer.set(this.slotKey, next as BpfMap<unknown, unknown>, { flags: 'any' });
    } catch (e) {
      if (next !== this.activeMap) this.spare = next;
      throw e;
    }
    this.swapMs = performance.now() - t0;
  }

  /**
   * After a swap: makes next the active map, reads the old one, then empties it for reuse (or
   * closes it). The read removes nothing, so a failed read loses nothing: the error holds the map.
   */
  private collect(next: BpfMap<K, V>): Harvest<HarvestEntry<K, V>> {
    const old = this.activeMap;
    this.activeMap = next;
    this.harvestCount++;
    let d: Dump<K, V>;
    let entries: Array<HarvestEntry<K, V>>;
    try {
      d = old.dump();
      entries = new Array<HarvestEntry<K, V>>(d.count);
      for (let i = 0; i < d.count; i++) entries[i] = [d.key(i), d.value(i)];
    } catch (e) {
      throw new HarvestReadError(old, e);
    }
    if (!this.recycle) {
      old.close();
      return marked(entries, this.lossy);
    }
    try {
      if (ARRAYS.has(old.type)) zero(old);
      else if (d.count > 0) old.deleteBatch({ keys: d.keys.subarray(0, d.count * d.keySize) });
      this.spare = old;
    } catch {
      // The entries are read; a map that cannot be emptied is just not reused.
      old.close();
    }
    return marked(entries, this.lossy);
  }

  /**
   * Closes the inner maps held, the updater (a worker thread on Linux), and the outer map when created here; a
   * harvestAsync() in flight rejects. Idempotent.
   */
  close(): void {
    this.spare?.close();
    this.spare = undefined;
    this.activeMap.close();
    if (this.ownsOuter) this.outer.close();
    void this.updater?.close();
    this.updater = undefined;
  }

  /** Closes the harvester: `using h = SwapHarvester.create(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function shapeOf<K, V>(m: BpfMap<K, V>, o: HarvesterCommon<K, V>): InnerShape<K, V> {
  return { type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, key: o.key, value: o.value, kernel: m.kernel };
}

/**
 * Reading a harvested map failed after it was swapped out: its entries are still in `map`
 * (open, no longer written by programs). Read it yourself, then close it.
 */
export class HarvestReadError<K, V> extends Error {
  override readonly name = 'HarvestReadError';
  readonly map: BpfMap<K, V>;

  constructor(map: BpfMap<K, V>, cause: unknown) {
    super(`reading the harvested map id ${map.id} failed: ${cause instanceof Error ? cause.message : String(cause)}; ` +
      'its entries are still in error.map (read it, then close it)', { cause });
    this.map = map;
  }
}

/** Zeroes every slot of an array map, in one UPDATE_BATCH. */
function zero(m: BpfMap<unknown, unknown>): void {
  const keys = Buffer.alloc(m.maxEntries * 4);
  for (let i = 0; i < m.maxEntries; i++) keys.writeUInt32LE(i, i * 4);
  m.updateBatch({ keys, values: Buffer.alloc(m.maxEntries * m.valueBytes) });
}
