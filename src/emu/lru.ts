/**
 * Recency order of an LRU map's elements. The kernel keeps per-CPU and global active/inactive
 * lists with reference bits and may evict in batches before the map is full; the emulator keeps
 * one exact order (updates make an element the most recent; syscall lookups do not, as in the
 * kernel) and evicts the least recent element only when the map is full.
 */
export class LruOrder<T> {
  private readonly order = new Set<T>();

  /** Makes elem the most recently used. */
  touch(elem: T): void {
    this.order.delete(elem);
    this.order.add(elem);
  }

  remove(elem: T): void {
    this.order.delete(elem);
  }

  oldest(): T | undefined {
    return this.order.values().next().value;
  }

  /** Oldest first. */
  list(): T[] {
    return [...this.order];
  }
}
