// The longest-prefix-match trie (kernel/bpf/lpm_trie.c): the same node layout, intermediate
// nodes, update/delete rules and the post-order GET_NEXT_KEY walk, so iteration order matches.
import { BPF_EXIST, BPF_NOEXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';
import { checkUpdateFlags, copyBytes, EmuMap, type BatchOps, type EmuEntry, type EmuMapAttr } from './map.js';

interface Node {
  prefixlen: number;
  data: Uint8Array;
  /** null for an intermediate node (LPM_TREE_NODE_FLAG_IM). */
  value: Uint8Array | null;
  child: [Node | null, Node | null];
}

/** A key: u32 prefixlen (host order), then data_size bytes, most significant first. */
interface Key {
  prefixlen: number;
  data: Uint8Array;
}

function extractBit(data: Uint8Array, index: number): 0 | 1 {
  return ((data[index >> 3] as number) >> (7 - (index & 7))) & 1 ? 1 : 0;
}

/** Where a node sits: the parent's child slot, or the root. */
interface Slot {
  get(): Node | null;
  set(n: Node | null): void;
}

export class LpmTrie extends EmuMap {
  readonly batchOps: BatchOps = { lookup: 'generic', lookupAndDelete: null, update: true, delete: true };
  private root: Node | null = null;
  private nEntries = 0;
  private readonly dataSize: number;
  private readonly maxPrefixlen: number;

  constructor(attr: EmuMapAttr) {
    super(attr);
    this.dataSize = attr.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
  }

  private key(raw: Uint8Array): Key {
    return { prefixlen: new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true), data: raw.subarray(4, 4 + this.dataSize) };
  }

  /** The number of leading bits node and key share, capped at both prefix lengths. */
  private match(node: Node, key: Key): number {
    const limit = Math.min(node.prefixlen, key.prefixlen);
    let bits = 0;
    for (let i = 0; i < this.dataSize && bits < limit; i++) {
      const diff = ((node.data[i] as number) ^ (key.data[i] as number)) & 0xff;
      if (diff === 0) {
        bits += 8;
        continue;
      }
      bits += Math.clz32(diff) - 24;
      break;
    }
    return Math.min(bits, limit);
  }

  private rootSlot(): Slot {
    return { get: () => this.root, set: (n) => { this.root = n; } };
  }

  private childSlot(node: Node, bit: 0 | 1): Slot {
    return { get: () => node.child[bit], set: (n) => { node.child[bit] = n; } };
  }

  lookup(raw: Uint8Array, out: Uint8Array): void {
    const key = this.key(raw);
    if (key.prefixlen > this.maxPrefixlen) fail(errno.ENOENT);
    let found: Node | null = null;
    for (let node = this.root; node;) {
      const matchlen = this.match(node, key);
      if (matchlen === this.maxPrefixlen) {
        found = node;
        break;
      }
      if (matchlen < node.prefixlen) break;
      if (node.value) found = node;
      node = node.child[extractBit(key.data, node.prefixlen)];
    }
    if (!found || !found.value) fail(errno.ENOENT);
    out.set(found.value.subarray(0, this.attr.valueSize));
  }

  /** trie_check_add_elem: room for one more element. */
  private checkAdd(flags: number): void {
    if (flags === BPF_EXIST) fail(errno.ENOENT);
    if (this.nEntries === this.attr.maxEntries) fail(errno.ENOSPC);
    this.nEntries++;
  }

  update(raw: Uint8Array, value: Uint8Array, flags: number): void {
    checkUpdateFlags(flags, false);
    const key = this.key(raw);
    if (key.prefixlen > this.maxPrefixlen) fail(errno.EINVAL);
    const fresh: Node = { prefixlen: key.prefixlen, data: copyBytes(key.data), value: copyBytes(value, 0, this.attr.valueSize), child: [null, null] };
    let slot = this.rootSlot();
    let node: Node | null;
    let matchlen = 0;
    while ((node = slot.get())) {
      matchlen = this.match(node, key);
      if (node.prefixlen !== matchlen || node.prefixlen === key.prefixlen) break;
      slot = this.childSlot(node, extractBit(key.data, node.prefixlen));
    }
    if (!node) {
      this.checkAdd(flags);
      slot.set(fresh);
      return;
    }
    if (node.prefixlen === matchlen) {
      if (node.value) {
        if (flags === BPF_NOEXIST) fail(errno.EEXIST);
      } else {
        this.checkAdd(flags);
      }
      fresh.child = [node.child[0], node.child[1]];
      slot.set(fresh);
      return;
    }
    this.checkAdd(flags);
    if (matchlen === key.prefixlen) {
      fresh.child[extractBit(node.data, matchlen)] = node;
      slot.set(fresh);
      return;
    }
    const im: Node = { prefixlen: matchlen, data: copyBytes(node.data), value: null, child: [null, null] };
    if (extractBit(key.data, matchlen)) im.child = [node, fresh];
    else im.child = [fresh, node];
    slot.set(im);
  }

  delete(raw: Uint8Array): void {
    const key = this.key(raw);
    if (key.prefixlen > this.maxPrefixlen) fail(errno.EINVAL);
    let trim = this.rootSlot();
    let trim2 = trim;
    let parent: Node | null = null;
    let node: Node | null;
    let matchlen = 0;
    while ((node = trim.get())) {
      matchlen = this.match(node, key);
      if (node.prefixlen !== matchlen || node.prefixlen === key.prefixlen) break;
      parent = node;
      trim2 = trim;
      trim = this.childSlot(node, extractBit(key.data, node.prefixlen));
    }
    if (!node || node.prefixlen !== key.prefixlen || node.prefixlen !== matchlen || !node.value) fail(errno.ENOENT);
    this.nEntries--;
    if (node.child[0] && node.child[1]) {
      // Two children: the node stays as an intermediate one.
      node.value = null;
      return;
    }
    if (parent && !parent.value && !node.child[0] && !node.child[1]) {
      // A leaf under an intermediate node: the intermediate goes too, its other child moves up.
      trim2.set(node === parent.child[0] ? parent.child[1] : parent.child[0]);
      return;
    }
    trim.set(node.child[0] ?? node.child[1]);
  }

  nextKey(raw: Uint8Array | null, out: Uint8Array): void {
    let searchRoot = this.root;
    if (!searchRoot) fail(errno.ENOENT);
    const key = raw ? this.key(raw) : null;
    let next: Node | null = null;
    if (key && key.prefixlen <= this.maxPrefixlen) {
      // Find the exact node, remembering the path, then the next node in post-order.
      const stack: Node[] = [];
      let node: Node | null = searchRoot;
      let matchlen = 0;
      while (node) {
        stack.push(node);
        matchlen = this.match(node, key);
        if (node.prefixlen !== matchlen || node.prefixlen === key.prefixlen) break;
        node = node.child[extractBit(key.data, node.prefixlen)];
      }
      // Only a key in the trie continues the walk; any other restarts it (observed on 6.18).
      if (node && node.prefixlen === key.prefixlen && matchlen === node.prefixlen && node.value) {
        let cur = stack[stack.length - 1] as Node;
        let i = stack.length - 1;
        let descend = false;
        while (i > 0) {
          const p = stack[i - 1] as Node;
          if (p.child[0] === cur && p.child[1]) {
            searchRoot = p.child[1];
            descend = true;
            break;
          }
          if (p.value) {
            next = p;
            break;
          }
          cur = p;
          i--;
        }
        if (!descend && !next) fail(errno.ENOENT);
      }
    }
    if (!next) {
      // The leftmost non-intermediate node of the subtree, in post-order.
      for (let node: Node | null = searchRoot; node;) {
        if (!node.value) {
          node = node.child[0];
        } else {
          next = node;
          node = node.child[0] ?? next.child[1];
        }
      }
    }
    const n = next as Node;
    new DataView(out.buffer, out.byteOffset, 4).setUint32(0, n.prefixlen, true);
    out.set(n.data, 4);
  }

  dump(): EmuEntry[] {
    const out: EmuEntry[] = [];
    const walk = (n: Node | null): void => {
      if (!n) return;
      if (n.value) {
        const key = new Uint8Array(this.attr.keySize);
        new DataView(key.buffer).setUint32(0, n.prefixlen, true);
        key.set(n.data, 4);
        out.push({ key, value: n.value });
      }
      walk(n.child[0]);
      walk(n.child[1]);
    };
    walk(this.root);
    return out;
  }

  clear(): void {
    this.root = null;
    this.nEntries = 0;
  }

  restore(entries: readonly EmuEntry[]): void {
    // Pre-order (ancestors first) rebuilds the same trie: the shape depends only on the keys.
    for (const e of entries) this.update(e.key, e.value, 0);
  }
}
