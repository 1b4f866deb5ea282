// Queue and stack maps (kernel/bpf/queue_stack_maps.c): no keys; push with BPF_EXIST overwrites
// the oldest element when full; pop and peek take the oldest (queue) or the newest (stack).
import { BPF_MAP_TYPE_STACK, BPF_EXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';
import { copyBytes, EmuMap, type BatchOps, type EmuEntry, type EmuMapAttr } from './map.js';

export class QueueStack extends EmuMap {
  readonly batchOps: BatchOps = { lookup: null, lookupAndDelete: null, update: false, delete: false };
  /** Oldest first. */
  private readonly elems: Uint8Array[] = [];
  private readonly stack: boolean;

  constructor(attr: EmuMapAttr) {
    super(attr);
    this.stack = attr.type === BPF_MAP_TYPE_STACK;
  }

  private next(): Uint8Array {
    const v = this.stack ? this.elems[this.elems.length - 1] : this.elems[0];
    if (!v) fail(errno.ENOENT);
    return v;
  }

  /** Peek. */
  lookup(_key: Uint8Array | null, out: Uint8Array): void {
    out.set(this.next());
  }

  /** Push. */
  update(_key: Uint8Array | null, value: Uint8Array, flags: number): void {
    // BPF_NOEXIST makes no sense for a push; BPF_EXIST means "overwrite when full".
    if (flags % 2 === 1 || flags > BPF_EXIST) fail(errno.EINVAL);
    if (this.elems.length >= this.attr.maxEntries) {
      if (flags !== BPF_EXIST) fail(errno.E2BIG);
      this.elems.shift();
    }
    this.elems.push(copyBytes(value, 0, this.attr.valueSize));
  }

  delete(): void {
    fail(errno.EINVAL);
  }

  nextKey(): void {
    fail(errno.EINVAL);
  }

  /** Pop. */
  override lookupAndDelete(_key: Uint8Array | null, out: Uint8Array): void {
    out.set(this.next());
    if (this.stack) this.elems.pop();
    else this.elems.shift();
  }

  dump(): EmuEntry[] {
    return this.elems.map((value) => ({ key: new Uint8Array(0), value }));
  }

  clear(): void {
    this.elems.length = 0;
  }

  restore(entries: readonly EmuEntry[]): void {
    for (const e of entries) this.elems.push(copyBytes(e.value));
  }
}
