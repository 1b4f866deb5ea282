// The kernel's LRU for lru_hash and lru_percpu_hash (kernel/bpf/bpf_lru_list.c), node for node:
// a fixed pool of max_entries nodes; with the common LRU one global list (active, inactive, free)
// and per-CPU local lists (free, pending) refilled in batches; with BPF_F_NO_COMMON_LRU one such
// global list per CPU. Free nodes are interchangeable: a free list is kept as its length, and a
// node object exists only while it holds an element (a large LRU map costs nothing up front).

/** A list_head: the sentinel of a list, or a node's link in one. */
interface Link {
  prev: Link;
  next: Link;
}

const enum ListType {
  Active,
  Inactive,
  LocalPending,
}

/** bpf_lru_node: one element's slot in the pool. */
export class LruNode<T> implements Link {
  prev: Link = this;
  next: Link = this;
  cpu = 0;
  type: ListType = ListType.Inactive;
  ref = false;
  /** The element the node holds while it is in the hash table. */
  elem: T | null = null;
}

function head(): Link {
  const h = { prev: null, next: null } as unknown as Link;
  h.prev = h;
  h.next = h;
  return h;
}

function listDel(n: Link): void {
  n.prev.next = n.next;
  n.next.prev = n.prev;
  n.prev = n;
  n.next = n;
}

/** list_move: to the head of h. */
function listMove(n: Link, h: Link): void {
  listDel(n);
  n.next = h.next;
  n.prev = h;
  h.next.prev = n;
  h.next = n;
}

function empty(h: Link): boolean {
  return h.next === h;
}

/** From the tail (oldest) towards the head, safe against moving the current node. */
function* reverse<T>(h: Link): Generator<LruNode<T>> {
  for (let n = h.prev; n !== h;) {
    const prev = n.prev;
    yield n as LruNode<T>;
    n = prev;
  }
}

/** bpf_lru_list: active and inactive lists and their counts, the free nodes, the rotation cursor. */
class LruList {
  readonly lists: [Link, Link] = [head(), head()];
  readonly counts = [0, 0];
  free = 0;
  nextInactiveRotation: Link = this.lists[ListType.Inactive];
}

/** bpf_lru_locallist: a CPU's free and pending nodes (common LRU). */
class LocalList {
  free = 0;
  readonly pending = head();
  nextSteal: number;
  constructor(cpu: number) {
    this.nextSteal = cpu;
  }
}

const LOCAL_FREE_TARGET = 128;
const LOCAL_NR_SCANS = LOCAL_FREE_TARGET;
const PERCPU_FREE_TARGET = 4;
const PERCPU_NR_SCANS = PERCPU_FREE_TARGET;

export class KernelLru<T> {
  private readonly percpu: boolean;
  private readonly nrScans: number;
  private readonly targetFree: number;
  /** The common list, or one per CPU. */
  private readonly lists: LruList[];
  private readonly locals: LocalList[];

  /**
   * nodes: max_entries; cpus: the possible CPUs; perCpuLists: BPF_F_NO_COMMON_LRU.
   * delFromHtab unlinks a node's element from the table (htab_lru_map_delete_node).
   */
  constructor(nodes: number, private readonly cpus: number, perCpuLists: boolean, private readonly delFromHtab: (elem: T) => void) {
    this.percpu = perCpuLists;
    this.nrScans = perCpuLists ? PERCPU_NR_SCANS : LOCAL_NR_SCANS;
    this.targetFree = Math.min(Math.max(Math.floor(Math.floor(nodes / cpus) / 2), 1), LOCAL_FREE_TARGET);
    this.lists = Array.from({ length: perCpuLists ? cpus : 1 }, () => new LruList());
    this.locals = perCpuLists ? [] : Array.from({ length: cpus }, (_, c) => new LocalList(c));
    // bpf_percpu_lru_populate gives each CPU max_entries / CPUs nodes (max_entries is a multiple).
    if (perCpuLists) for (const l of this.lists) l.free = Math.floor(nodes / cpus);
    else (this.lists[0] as LruList).free = nodes;
  }

  private evict(n: LruNode<T>): boolean {
    if (n.elem === null) return false;
    this.delFromHtab(n.elem);
    n.elem = null;
    return true;
  }

  /** __bpf_lru_node_move_to_free: the node leaves active or inactive for a free list (counted by the caller). */
  private moveToFree(l: LruList, n: LruNode<T>): void {
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = n.prev;
    (l.counts[n.type] as number)--;
    listDel(n);
  }

  /** __bpf_lru_node_move_in: from a local pending list to active or inactive. */
  private moveIn(l: LruList, n: LruNode<T>, t: ListType.Active | ListType.Inactive): void {
    (l.counts[t] as number)++;
    n.type = t;
    n.ref = false;
    listMove(n, l.lists[t]);
  }

  /** __bpf_lru_node_move within or between active and inactive. */
  private move(l: LruList, n: LruNode<T>, t: ListType.Active | ListType.Inactive): void {
    if (n.type !== t) {
      (l.counts[n.type] as number)--;
      (l.counts[t] as number)++;
      n.type = t;
    }
    n.ref = false;
    if (n === l.nextInactiveRotation) l.nextInactiveRotation = n.prev;
    listMove(n, l.lists[t]);
  }

  private rotateActive(l: LruList): void {
    const active = l.lists[ListType.Active];
    const first = active.next;
    let i = 0;
    for (const n of reverse<T>(active)) {
      this.move(l, n, n.ref ? ListType.Active : ListType.Inactive);
      if (++i === this.nrScans || n === first) break;
    }
  }

  private rotateInactive(l: LruList): void {
    const inactive = l.lists[ListType.Inactive];
    if (empty(inactive)) return;
    let last = l.nextInactiveRotation.next;
    if (last === inactive) last = last.next;
    let cur = l.nextInactiveRotation;
    let next = inactive;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === inactive) {
        cur = cur.prev;
        continue;
      }
      const n = cur as LruNode<T>;
      next = cur.prev;
      if (n.ref) this.move(l, n, ListType.Active);
      if (cur === last) break;
      cur = next;
      i++;
    }
    l.nextInactiveRotation = next;
  }

  private rotate(l: LruList): void {
    if ((l.counts[ListType.Inactive] as number) < (l.counts[ListType.Active] as number)) this.rotateActive(l);
    this.rotateInactive(l);
  }

  /** Evicts up to target elements; returns how many nodes it freed (the caller adds them to a free list). */
  private shrinkInactive(l: LruList, target: number): number {
    let shrunk = 0;
    let i = 0;
    for (const n of reverse<T>(l.lists[ListType.Inactive])) {
      if (n.ref) {
        this.move(l, n, ListType.Active);
      } else if (this.evict(n)) {
        this.moveToFree(l, n);
        if (++shrunk === target) break;
      }
      if (++i === this.nrScans) break;
    }
    return shrunk;
  }

  private shrink(l: LruList, target: number): number {
    const shrunk = this.shrinkInactive(l, target);
    if (shrunk) return shrunk;
    // Force: the oldest node of inactive (else active), ref bit or not.
    const force = empty(l.lists[ListType.Inactive]) ? l.lists[ListType.Active] : l.lists[ListType.Inactive];
    for (const n of reverse<T>(force)) {
      if (this.evict(n)) {
        this.moveToFree(l, n);
        return 1;
      }
    }
    return 0;
  }

  private flush(l: LruList, loc: LocalList): void {
    for (const n of reverse<T>(loc.pending)) this.moveIn(l, n, n.ref ? ListType.Active : ListType.Inactive);
  }

  private popFreeToLocal(loc: LocalList): void {
    const l = this.lists[0] as LruList;
    this.flush(l, loc);
    this.rotate(l);
    const nfree = Math.min(l.free, this.targetFree);
    l.free -= nfree;
    loc.free += nfree;
    if (nfree < this.targetFree) loc.free += this.shrink(l, this.targetFree - nfree);
  }

  private static addPending<U>(loc: LocalList, cpu: number, n: LruNode<U> = new LruNode<U>()): LruNode<U> {
    n.cpu = cpu;
    n.type = ListType.LocalPending;
    n.ref = false;
    listMove(n, loc.pending);
    return n;
  }

  private popPending(loc: LocalList): LruNode<T> | null {
    for (const force of [false, true]) {
      for (const n of reverse<T>(loc.pending)) {
        if ((!n.ref || force) && this.evict(n)) {
          listDel(n);
          return n;
        }
      }
    }
    return null;
  }

  /** bpf_lru_pop_free on the given CPU: a node for a new element (evicting as the kernel does), or null. */
  pop(cpu: number): LruNode<T> | null {
    if (this.percpu) {
      const l = this.lists[cpu] as LruList;
      this.rotate(l);
      if (l.free === 0) l.free += this.shrink(l, PERCPU_FREE_TARGET);
      if (l.free === 0) return null;
      l.free--;
      const n = new LruNode<T>();
      n.cpu = cpu;
      (l.counts[ListType.Inactive] as number)++;
      listMove(n, l.lists[ListType.Inactive]);
      return n;
    }
    const loc = this.locals[cpu] as LocalList;
    if (loc.free === 0) this.popFreeToLocal(loc);
    if (loc.free > 0) {
      loc.free--;
      return KernelLru.addPending<T>(loc, cpu);
    }
    // Steal from the CPUs' local free, then pending lists, round robin from next_steal.
    const first = loc.nextSteal;
    let steal = first;
    let n: LruNode<T> | null = null;
    do {
      const s = this.locals[steal] as LocalList;
      if (s.free > 0) {
        s.free--;
        n = new LruNode<T>();
      } else {
        n = this.popPending(s);
      }
      steal = (steal + 1) % this.cpus;
    } while (!n && steal !== first);
    loc.nextSteal = steal;
    if (!n) return null;
    return KernelLru.addPending(loc, cpu, n);
  }

  /** bpf_lru_node_set_ref. */
  static setRef<T>(n: LruNode<T>): void {
    n.ref = true;
  }

  /** bpf_lru_push_free: the node's element has left the table. */
  pushFree(n: LruNode<T>): void {
    n.elem = null;
    if (!this.percpu && n.type === ListType.LocalPending) {
      listDel(n);
      (this.locals[n.cpu] as LocalList).free++;
      return;
    }
    const l = this.lists[this.percpu ? n.cpu : 0] as LruList;
    this.moveToFree(l, n);
    l.free++;
  }

  /**
   * Gives a restored element a node: into the inactive list, as the newest. (A map taken back
   * from the pin store keeps its elements and their order, not its local lists or ref bits.)
   */
  adopt(elem: T): LruNode<T> | null {
    for (const [cpu, l] of this.lists.entries()) {
      if (l.free === 0) continue;
      l.free--;
      const n = new LruNode<T>();
      n.cpu = cpu;
      n.elem = elem;
      (l.counts[ListType.Inactive] as number)++;
      listMove(n, l.lists[ListType.Inactive]);
      return n;
    }
    return null;
  }

  /** The elements from the first the kernel would evict to the last (an estimate across lists). */
  order(): T[] {
    const out: T[] = [];
    const add = (h: Link): void => {
      for (const n of reverse<T>(h)) if (n.elem !== null) out.push(n.elem);
    };
    for (const l of this.lists) {
      add(l.lists[ListType.Inactive]);
      add(l.lists[ListType.Active]);
    }
    for (const loc of this.locals) add(loc.pending);
    return out;
  }
}
