import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap, type RawValue } from '../../src/map/map.js';
import { u32 } from './kernel.js';

export type Raw = BpfMap<Buffer, RawValue>;

/** A comparable text for an entry: key hex = value hex (per-CPU: one hex per CPU). */
export function entryText(k: Buffer, v: RawValue): string {
  return `${k.toString('hex')}=${Array.isArray(v) ? v.map((b) => b.toString('hex')).join('|') : v.toString('hex')}`;
}

export function perCpuValue(cpus: number, size: number, seed: number): Buffer[] {
  return Array.from({ length: cpus }, (_, c) => {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (seed * 7 + c * 31 + i) & 0xff;
    return b;
  });
}

export function plainValue(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 13 + i) & 0xff;
  return b;
}

export function lpmKey(prefixLen: number, a: number, b: number, c = 0, d = 0): Buffer {
  return Buffer.concat([u32(prefixLen), Buffer.from([a, b, c, d])]);
}

/** A populated map of one type and the entries it holds, for walks that must return all of them once. */
export interface Fixture {
  map: Raw;
  expected: Set<string>;
  /** Maps a fixture keeps alive (inner maps), closed with it. */
  extra: Raw[];
}

export type FixtureType =
  | 'hash' | 'percpu_hash' | 'lru_hash' | 'lru_percpu_hash' | 'array' | 'percpu_array'
  | 'lpm_trie' | 'hash_of_maps' | 'array_of_maps';

export const ITERABLE_TYPES: FixtureType[] = [
  'hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash', 'array', 'percpu_array', 'lpm_trie', 'hash_of_maps', 'array_of_maps',
];

export function closeFixture(f: Fixture): void {
  f.map.close();
  for (const m of f.extra) m.close();
}

/** Builds a map of type with n entries (arrays: all n slots), values depending on the key. */
export function fixture(kernel: Kernel, type: FixtureType, n = 40): Fixture {
  const expected = new Set<string>();
  const extra: Raw[] = [];
  const perCpuType = type === 'percpu_hash' || type === 'lru_percpu_hash' || type === 'percpu_array';
  if (type === 'lpm_trie') {
    const map: Raw = BpfMap.create({ kernel, type, keySize: 8, valueSize: 4, maxEntries: n + 8, flags: ['no_prealloc'] });
    for (let i = 0; i < n; i++) map.set(lpmKey(8 + (i % 17), 10, i, (i * 3) & 0xff), u32(i));
    // The trie may mask address bits past the prefix: take the expected keys as the kernel holds them.
    for (let k = map.nextKey(); k !== undefined; k = map.nextKey(k)) expected.add(entryText(k, map.get(k) as Buffer));
    return { map, expected, extra };
  }
  if (type === 'hash_of_maps' || type === 'array_of_maps') {
    const tmpl: Raw = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    extra.push(tmpl);
    const map: Raw = BpfMap.create({ kernel, type, keySize: 4, valueSize: 4, maxEntries: type === 'array_of_maps' ? 8 : 16, innerMap: tmpl });
    const slots = type === 'array_of_maps' ? [0, 2, 4, 5, 7] : [3, 9, 27, 81, 243];
    for (const s of slots) {
      const inner: Raw = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      extra.push(inner);
      map.set(u32(s), u32(inner.fd));
      expected.add(entryText(u32(s), u32(inner.id)));
    }
    return { map, expected, extra };
  }
  const isArray = type === 'array' || type === 'percpu_array';
  // LRU maps hand free nodes to per-CPU lists and can evict before they are full; a large
  // max_entries keeps a small fixture whole.
  const valueSize = perCpuType ? 12 : 8;
  const map: Raw = BpfMap.create({ kernel, type, keySize: 4, valueSize, maxEntries: isArray ? n : type.startsWith('lru') ? 1024 : n + 24, flags: isArray ? [] : ['zero_seed'] });
  for (let i = 0; i < n; i++) {
    const key = u32(isArray ? i : i * 2654435761);
    const v: RawValue = perCpuType ? perCpuValue(map.cpus, valueSize, i) : plainValue(valueSize, i);
    map.set(key, v);
    expected.add(entryText(key, v));
  }
  return { map, expected, extra };
}
