import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BpfMap } from '../../src/map/map.js';
import {
  BPF_F_INNER_MAP,
  BPF_F_MMAPABLE,
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_F_RDONLY,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_HASH_OF_MAPS,
  BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PROG_ARRAY,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
} from '../../src/sys/constants.js';
import type { MapCreateAttr } from '../../src/kernel/kernel.js';
import { assertSameOutcomes, type Op, type Scenario } from '../helpers/differential.js';
import { emuStoreDir, linuxAvailable, u32, u64 } from '../helpers/kernel.js';
import { u32Hex } from '../helpers/random-ops.js';

const ZS = BPF_F_ZERO_SEED;
const hash = (over: Partial<MapCreateAttr> = {}): MapCreateAttr => ({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: ZS, ...over });
const array = (over: Partial<MapCreateAttr> = {}): MapCreateAttr => ({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0, ...over });
const fill = (n: number, from = 0): Op[] => Array.from({ length: n }, (_, i) => ({ op: 'update', key: u32Hex(from + i * 7), value: u32Hex(i + 100) }));
const walkAll = (count: number): Op[] => [
  { op: 'lookupBatch', cursor: 'start', count },
  ...Array.from({ length: 8 }, (): Op => ({ op: 'lookupBatch', cursor: 'last', count })),
];
const keys = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => u32Hex(from + i * 7));

function both(t: { skip(m: string): void }): [LinuxKernel, EmulatedKernel] | null {
  if (!linuxAvailable(t as never)) return null;
  return [new LinuxKernel(), new EmulatedKernel()];
}

function check(k: [LinuxKernel, EmulatedKernel], scenarios: Record<string, Scenario>): void {
  for (const [label, s] of Object.entries(scenarios)) assertSameOutcomes(k[0], k[1], s, label);
}

test('differential: MAP_CREATE accepts and refuses the same attributes (errno for errno)', (t) => {
  const k = both(t);
  if (!k) return;
  const cases: Record<string, MapCreateAttr> = {
    'hash ok': hash(),
    'hash key 0': hash({ keySize: 0 }),
    'hash value 0': hash({ valueSize: 0 }),
    'hash max 0': hash({ maxEntries: 0 }),
    'hash unknown flag': hash({ mapFlags: 1 << 20 }),
    'hash mmapable': hash({ mapFlags: BPF_F_MMAPABLE }),
    'hash no_common_lru': hash({ mapFlags: BPF_F_NO_COMMON_LRU }),
    'hash rdonly+wronly': hash({ mapFlags: BPF_F_RDONLY | BPF_F_WRONLY }),
    'hash rdonly_prog+wronly_prog': hash({ mapFlags: BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG }),
    'hash value too big': hash({ keySize: 4, valueSize: 4 << 20 }),
    'hash map_extra': { ...hash(), mapExtra: 1n },
    'hash btf ids without btf': { ...hash(), btfKeyTypeId: 1, btfValueTypeId: 0 },
    'hash bad name': hash({ name: 'a-b' }),
    'hash long name truncated': hash({ name: 'abcdefghijklmnopqrstuvwxyz' }),
    'hash name with dots': hash({ name: 'a.b_c9' }),
    'percpu_hash value 32K': hash({ mapType: BPF_MAP_TYPE_PERCPU_HASH, valueSize: 32 << 10 }),
    'percpu_hash value 32K+1': hash({ mapType: BPF_MAP_TYPE_PERCPU_HASH, valueSize: (32 << 10) + 1 }),
    'lru no prealloc': hash({ mapType: BPF_MAP_TYPE_LRU_HASH, mapFlags: BPF_F_NO_PREALLOC }),
    'lru_percpu no_common_lru rounds max_entries': hash({ mapType: BPF_MAP_TYPE_LRU_PERCPU_HASH, maxEntries: 3, mapFlags: BPF_F_NO_COMMON_LRU }),
    'array key 8': array({ keySize: 8 }),
    'array max 0': array({ maxEntries: 0 }),
    'array zero_seed': array({ mapFlags: ZS }),
    'array mmapable': array({ mapFlags: BPF_F_MMAPABLE }),
    'array inner_map flag': array({ mapFlags: BPF_F_INNER_MAP }),
    'percpu_array mmapable': array({ mapType: BPF_MAP_TYPE_PERCPU_ARRAY, mapFlags: BPF_F_MMAPABLE }),
    'array no_prealloc': array({ mapFlags: BPF_F_NO_PREALLOC }),
    'lpm without no_prealloc': { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: 0 },
    'lpm key 4': { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
    'lpm key 260': { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 260, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
    'lpm key 261': { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 261, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
    'lpm zero_seed': { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC | ZS },
    'queue with key': { mapType: BPF_MAP_TYPE_QUEUE, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 },
    'stack ok': { mapType: BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 4, mapFlags: 0 },
    'queue no_prealloc': { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
    'unknown type': { mapType: 999, keySize: 4, valueSize: 4, maxEntries: 4, mapFlags: 0 },
  };
  check(k, Object.fromEntries(Object.entries(cases).map(([l, map]) => [l, { map, ops: [{ op: 'info' }] }])));
});

test('differential: map-in-map creation and value checks', (t) => {
  const k = both(t);
  if (!k) return;
  const inner = array({ valueSize: 8 });
  check(k, {
    'array_of_maps value 8': { inners: [inner], map: { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 8, maxEntries: 2, mapFlags: 0, innerMapIndex: 0 }, ops: [] },
    'hash_of_maps rdonly_prog': { inners: [inner], map: { mapType: BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: BPF_F_RDONLY_PROG, innerMapIndex: 0 }, ops: [{ op: 'info' }] },
    'array_of_maps rdonly_prog': { inners: [inner], map: { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: BPF_F_RDONLY_PROG, innerMapIndex: 0 }, ops: [] },
    'inner is a map-in-map': {
      inners: [inner, { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0, innerMapIndex: 0 }],
      map: { mapType: BPF_MAP_TYPE_HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0, innerMapIndex: 1 },
      ops: [],
    },
    'inner_map flag relaxes max_entries': {
      inners: [array({ maxEntries: 2, mapFlags: BPF_F_INNER_MAP }), array({ maxEntries: 9, mapFlags: BPF_F_INNER_MAP }), array({ maxEntries: 9 })],
      map: { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: 0, innerMapIndex: 0 },
      ops: [
        { op: 'update', key: u32Hex(0), value: { inner: 1 } },
        { op: 'update', key: u32Hex(1), value: { inner: 2 } },
        { op: 'update', key: u32Hex(2), value: { inner: 0 }, flags: 1 },
        { op: 'update', key: u32Hex(3), value: { inner: 0 } },
        { op: 'update', key: u32Hex(1), value: { badFd: true } },
        { op: 'delete', key: u32Hex(2) },
        { op: 'delete', key: u32Hex(3) },
        { op: 'lookupAndDelete', key: u32Hex(0) },
        { op: 'lookupAndDeleteBatch', cursor: 'start', count: 3 },
        { op: 'deleteBatch', keys: [u32Hex(0)] },
        { op: 'walk' },
        { op: 'delete', key: u32Hex(0) },
        { op: 'lookupBatch', cursor: 'start', count: 3 },
      ],
    },
  });
});

test('differential: the batch rules of the spec, on the hash family', (t) => {
  const k = both(t);
  if (!k) return;
  check(k, {
    'empty map: ENOENT with count 0': { map: hash(), ops: [{ op: 'lookupBatch', cursor: 'start', count: 4 }, { op: 'lookupAndDeleteBatch', cursor: 'start', count: 4 }] },
    'count 0 returns 0, cursor untouched': { map: hash(), ops: [...fill(3), { op: 'lookupBatch', cursor: 'start', count: 0 }, { op: 'updateBatch', keys: [], values: [] }, { op: 'deleteBatch', keys: [] }] },
    'flags and elem_flags: EINVAL, count untouched': {
      map: hash(),
      ops: [...fill(3), { op: 'lookupBatch', cursor: 'start', count: 4, flags: 1 }, { op: 'lookupBatch', cursor: 'start', count: 4, elemFlags: 4 },
        { op: 'lookupBatch', cursor: 'start', count: 4, elemFlags: 2 }, { op: 'lookupAndDeleteBatch', cursor: 'start', count: 4, flags: 8 },
        { op: 'updateBatch', keys: keys(2), values: [u32Hex(1), u32Hex(2)], elemFlags: 1 }, { op: 'updateBatch', keys: keys(2), values: [u32Hex(1), u32Hex(2)], elemFlags: 4 },
        { op: 'updateBatch', keys: keys(2), values: [u32Hex(1), u32Hex(2)], flags: 1 }, { op: 'deleteBatch', keys: keys(2), elemFlags: 4 }, { op: 'deleteBatch', keys: keys(2), flags: 3 }],
    },
    'walk in small steps, every cursor': { map: hash({ maxEntries: 16 }), ops: [...fill(13), ...walkAll(1), ...walkAll(2), ...walkAll(3), ...walkAll(50)] },
    'a crowded bucket: ENOSPC with nothing copied, partial otherwise': {
      map: hash({ maxEntries: 2, keySize: 8 }),
      ops: [...Array.from({ length: 2 }, (_, i): Op => ({ op: 'update', key: `${u32Hex(i)}00000000`, value: u32Hex(i) })), ...walkAll(1), ...walkAll(2)],
    },
    'cursor past the last bucket': { map: hash(), ops: [...fill(3), { op: 'lookupBatch', cursor: u32Hex(8), count: 4 }, { op: 'lookupBatch', cursor: u32Hex(0xffffffff), count: 4 }, { op: 'lookupBatch', cursor: u32Hex(7), count: 4 }] },
    'count larger than max_entries': { map: hash(), ops: [...fill(8), { op: 'lookupBatch', cursor: 'start', count: 100 }, { op: 'lookupAndDeleteBatch', cursor: 'start', count: 3 }, { op: 'lookupAndDeleteBatch', cursor: 'last', count: 100 }, { op: 'walk' }] },
    'update batch: duplicates, full map E2BIG with count applied': { map: hash({ maxEntries: 4 }), ops: [{ op: 'updateBatch', keys: [...keys(3), ...keys(3)], values: Array.from({ length: 6 }, (_, i) => u32Hex(i)) }, { op: 'updateBatch', keys: keys(4, 100), values: keys(4) }, { op: 'walk' }] },
    'delete batch stops at the first missing key': { map: hash(), ops: [...fill(5), { op: 'deleteBatch', keys: [...keys(2), u32Hex(999), ...keys(2, 14)] }, { op: 'walk' }, { op: 'deleteBatch', keys: keys(1) }] },
    'zero seed: order, head insertion, replacement to the head': {
      map: hash({ maxEntries: 4 }),
      ops: [...fill(4), { op: 'walk' }, { op: 'update', key: u32Hex(0), value: u32Hex(9) }, { op: 'walk' }, { op: 'update', key: u32Hex(7), value: u32Hex(9), flags: 2 }, { op: 'walk' }, ...walkAll(4)],
    },
    'percpu_hash: in-place replacement, padding bytes kept': {
      map: hash({ mapType: BPF_MAP_TYPE_PERCPU_HASH, maxEntries: 4, valueSize: 3 }),
      ops: [{ op: 'lookup', key: u32Hex(1) }, ...[0, 7, 14, 21].map((n): Op => ({ op: 'update', key: u32Hex(n), value: 'ab'.repeat(8 * 2) })), { op: 'walk' },
        { op: 'update', key: u32Hex(0), value: '01'.repeat(8 * 2) }, { op: 'walk' }, ...walkAll(3)],
    },
    'GET_NEXT_KEY: a missing key restarts from the first bucket': { map: hash({ maxEntries: 16 }), ops: [...fill(9), { op: 'nextKey', key: null }, { op: 'nextKey', key: u32Hex(7) }, { op: 'nextKey', key: u32Hex(12345) }, { op: 'delete', key: u32Hex(14) }, { op: 'nextKey', key: u32Hex(14) }] },
    'element flags': {
      map: hash({ maxEntries: 2 }),
      ops: [{ op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 2 }, { op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 1 }, { op: 'update', key: u32Hex(1), value: u32Hex(2), flags: 1 },
        { op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 3 }, { op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 4 }, { op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 6 },
        { op: 'update', key: u32Hex(2), value: u32Hex(2) }, { op: 'update', key: u32Hex(3), value: u32Hex(3) }, { op: 'update', key: u32Hex(3), value: u32Hex(3), flags: 2 },
        { op: 'update', key: u32Hex(2), value: u32Hex(5) }, { op: 'lookup', key: u32Hex(2), flags: 1 }, { op: 'lookup', key: u32Hex(2), flags: 4 },
        { op: 'lookupAndDelete', key: u32Hex(2), flags: 4 }, { op: 'lookupAndDelete', key: u32Hex(2), flags: 1 }, { op: 'lookupAndDelete', key: u32Hex(2) }, { op: 'lookupAndDelete', key: u32Hex(2) }],
    },
  });
});

test('differential: read-only, write-only and frozen maps', (t) => {
  const k = both(t);
  if (!k) return;
  const all: Op[] = [
    { op: 'lookup', key: u32Hex(0) }, { op: 'update', key: u32Hex(0), value: u32Hex(1) }, { op: 'delete', key: u32Hex(0) }, { op: 'nextKey', key: null },
    { op: 'lookupAndDelete', key: u32Hex(0) }, { op: 'lookupBatch', cursor: 'start', count: 2 }, { op: 'lookupAndDeleteBatch', cursor: 'start', count: 2, flags: 1 },
    { op: 'updateBatch', keys: [u32Hex(0)], values: [u32Hex(1)], elemFlags: 4 }, { op: 'deleteBatch', keys: [u32Hex(0)] },
  ];
  const scenarios: Record<string, Scenario> = {};
  for (const [name, map] of Object.entries({ hash: hash(), array: array(), queue: { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 2, mapFlags: 0 } })) {
    const queueOps: Op[] = all.map((o) => ('key' in o && map.keySize === 0 ? { ...o, key: null } : o) as Op);
    scenarios[`${name} rdonly`] = { map: { ...map, mapFlags: map.mapFlags | BPF_F_RDONLY }, ops: [...queueOps, { op: 'freeze' }] };
    scenarios[`${name} wronly`] = { map: { ...map, mapFlags: map.mapFlags | BPF_F_WRONLY }, ops: [...queueOps, { op: 'freeze' }, ...queueOps] };
    scenarios[`${name} frozen`] = { map, ops: [{ op: 'update', key: map.keySize ? u32Hex(0) : null, value: u32Hex(5) }, { op: 'freeze' }, ...queueOps, { op: 'freeze' }] };
  }
  check(k, scenarios);
});

test('differential: arrays, lpm_trie and queue/stack commands and their errors', (t) => {
  const k = both(t);
  if (!k) return;
  const lpm = { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 3, mapFlags: BPF_F_NO_PREALLOC };
  const pfx = (len: number, addr: string): string => u32Hex(len) + addr;
  check(k, {
    'array: E2BIG past the end, EINVAL delete, ENOTSUPP batches': {
      map: array(),
      ops: [{ op: 'update', key: u32Hex(4), value: u32Hex(1) }, { op: 'update', key: u32Hex(1), value: u32Hex(1), flags: 1 }, { op: 'update', key: u32Hex(1), value: u32Hex(7), flags: 2 },
        { op: 'delete', key: u32Hex(1) }, { op: 'lookup', key: u32Hex(4) }, { op: 'nextKey', key: u32Hex(3) }, { op: 'nextKey', key: u32Hex(9) }, { op: 'nextKey', key: null },
        { op: 'updateBatch', keys: [u32Hex(2), u32Hex(3), u32Hex(4), u32Hex(0)], values: [u32Hex(2), u32Hex(3), u32Hex(4), u32Hex(0)] },
        { op: 'deleteBatch', keys: [u32Hex(0)] }, { op: 'lookupAndDeleteBatch', cursor: 'start', count: 2 }, { op: 'lookupAndDelete', key: u32Hex(0) },
        ...walkAll(3), { op: 'lookupBatch', cursor: u32Hex(2), count: 8 }, { op: 'lookupBatch', cursor: u32Hex(77), count: 8 }],
    },
    'percpu_array: stride and flags': {
      map: array({ mapType: BPF_MAP_TYPE_PERCPU_ARRAY, valueSize: 5 }),
      ops: [{ op: 'update', key: u32Hex(1), value: 'cd'.repeat(8 * k[0].possibleCpus()) }, { op: 'update', key: u32Hex(1), value: '00'.repeat(8 * k[0].possibleCpus()), flags: 4 }, ...walkAll(2)],
    },
    'lpm_trie: longest prefix, ENOSPC when full, flags, post-order': {
      map: lpm,
      ops: [{ op: 'update', key: pfx(8, '0a000000'), value: u32Hex(1) }, { op: 'update', key: pfx(24, '0a010200'), value: u32Hex(2) }, { op: 'update', key: pfx(16, '0a010000'), value: u32Hex(3) },
        { op: 'update', key: pfx(32, '0a010203'), value: u32Hex(4) }, { op: 'update', key: pfx(16, '0a010000'), value: u32Hex(5) }, { op: 'update', key: pfx(16, '0a010000'), value: u32Hex(5), flags: 1 },
        { op: 'update', key: pfx(33, '0a010000'), value: u32Hex(5) }, { op: 'lookup', key: pfx(32, '0a0102ff') }, { op: 'lookup', key: pfx(32, '0a01ffff') }, { op: 'lookup', key: pfx(32, '0b000000') },
        { op: 'lookup', key: pfx(33, '0a000000') }, { op: 'lookup', key: pfx(20, '0a010200') }, { op: 'walk' }, ...walkAll(2), { op: 'lookupAndDelete', key: pfx(8, '0a000000') },
        { op: 'lookupAndDeleteBatch', cursor: 'start', count: 2 }, { op: 'delete', key: pfx(40, '0a000000') }, { op: 'delete', key: pfx(16, '0a010000') }, { op: 'walk' },
        { op: 'deleteBatch', keys: [pfx(8, '0a000000'), pfx(8, '0a000000')] }, { op: 'walk' }, { op: 'nextKey', key: pfx(8, '0b000000') }],
    },
    'queue: push, peek, pop, overwrite, errors': {
      map: { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 2, mapFlags: 0 },
      ops: [{ op: 'lookup', key: null }, { op: 'lookupAndDelete', key: null }, { op: 'update', key: null, value: u32Hex(1) }, { op: 'update', key: null, value: u32Hex(2) },
        { op: 'update', key: null, value: u32Hex(3) }, { op: 'update', key: null, value: u32Hex(3), flags: 2 }, { op: 'update', key: null, value: u32Hex(3), flags: 1 },
        { op: 'lookup', key: null }, { op: 'lookupAndDelete', key: null, flags: 4 }, { op: 'lookupAndDelete', key: null }, { op: 'delete', key: '' }, { op: 'nextKey', key: null },
        { op: 'lookupBatch', cursor: 'start', count: 1 }, { op: 'updateBatch', keys: [''], values: [u32Hex(1)] }, { op: 'lookupAndDelete', key: null }, { op: 'lookupAndDelete', key: null }],
    },
    'prog_array: no programs, so empty; fd checks; no batch ops': {
      inners: [array()],
      map: { mapType: BPF_MAP_TYPE_PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: 0 },
      ops: [{ op: 'lookup', key: u32Hex(0) }, { op: 'lookup', key: u32Hex(5) }, { op: 'update', key: u32Hex(0), value: { inner: 0 } }, { op: 'update', key: u32Hex(0), value: { badFd: true } },
        { op: 'update', key: u32Hex(0), value: { inner: 0 }, flags: 2 }, { op: 'update', key: u32Hex(4), value: { inner: 0 } }, { op: 'delete', key: u32Hex(0) }, { op: 'delete', key: u32Hex(3) },
        { op: 'nextKey', key: null }, { op: 'nextKey', key: u32Hex(2) }, { op: 'lookupAndDelete', key: u32Hex(0) }, { op: 'lookupBatch', cursor: 'start', count: 2 },
        { op: 'lookupAndDeleteBatch', cursor: 'start', count: 2 }, { op: 'updateBatch', keys: [u32Hex(0)], values: [{ inner: 0 }] }, { op: 'deleteBatch', keys: [u32Hex(0)] }],
    },
    'stack: newest first, overwrite drops the oldest': {
      map: { mapType: BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4, maxEntries: 2, mapFlags: 0 },
      ops: [1, 2, 3].map((n): Op => ({ op: 'update', key: null, value: u32Hex(n), flags: 2 })).concat([{ op: 'lookupAndDelete', key: null }, { op: 'lookupAndDelete', key: null }, { op: 'lookupAndDelete', key: null }]),
    },
  });
});

test('emulated kernel: bad fds and short buffers fail as on the real kernel', (t) => {
  const k = both(t);
  if (!k) return;
  for (const kernel of k) {
    assert.throws(() => kernel.mapInfo(12345), (e: unknown) => e instanceof BpfError && e.errno === 77);
    assert.throws(() => kernel.lookup(12345, Buffer.alloc(4), Buffer.alloc(4), 0), (e: unknown) => e instanceof BpfError && e.code === 'EBADF');
    const fd = kernel.mapCreate(hash());
    assert.throws(() => kernel.lookup(fd, Buffer.alloc(3), Buffer.alloc(4), 0), /key must hold 4 bytes, got 3/);
    assert.throws(() => kernel.lookupBatch(fd, { inBatch: null, outBatch: Buffer.alloc(4), keys: Buffer.alloc(4), values: Buffer.alloc(8), count: 2, elemFlags: 0, flags: 0 }), /keys must hold 8 bytes/);
    assert.throws(() => kernel.mapFdById(0xffffff00), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    kernel.close(fd);
    assert.throws(() => kernel.sizes(fd), (e: unknown) => e instanceof BpfError && e.code === 'EBADF');
  }
});

test('emulated maps keep their own copies of keys and values handed in as Buffers', () => {
  const kernel = new EmulatedKernel();
  for (const type of ['hash', 'array'] as const) {
    using m = BpfMap.create({ kernel, type, keySize: 4, valueSize: 8, maxEntries: 4 });
    // BpfMap encodes every key and value into the same scratch Buffers.
    m.set(u32(1), u64(10));
    m.set(u32(2), u64(20));
    m.updateBatch([[u32(3), u64(30)]]);
    m.set(u32(0), u64(0));
    assert.deepEqual(m.get(u32(1)), u64(10), type);
    assert.deepEqual(m.get(u32(2)), u64(20), type);
    assert.deepEqual(m.get(u32(3)), u64(30), type);
    assert.deepEqual([...m.keys()].map((k) => (k as Buffer).readUInt32LE(0)).sort(), [0, 1, 2, 3], type);
  }
});

test('an emulator standing in for a refused kernel says so in its not-found errors; one chosen on purpose does not', () => {
  const dir = emuStoreDir();
  const standIn = new EmulatedKernel({ dir, reason: 'bpf() was refused with EPERM: it needs root or CAP_BPF', standsIn: true });
  const chosen = new EmulatedKernel({ dir, reason: 'BPFMAP_KERNEL=emulated asked for it' });
  assert.equal(standIn.reason, 'bpf() was refused with EPERM: it needs root or CAP_BPF');
  const none = `/sys/fs/bpf/bpfmap-none-${process.pid}`;
  const hintOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      if (e instanceof BpfError) return e.hint;
      throw e;
    }
    assert.fail('no error');
  };
  assert.equal(hintOf(() => standIn.objGet(none, 0)),
    'nothing is pinned at that path on the emulated kernel, which answers because bpf() was refused with EPERM: it needs root or CAP_BPF; nothing is pinned there on the real kernel either');
  assert.equal(hintOf(() => standIn.mapFdById(4242)),
    "no map has that id on the emulated kernel, which answers because bpf() was refused with EPERM: it needs root or CAP_BPF; its ids are not the real kernel's");
  assert.equal(hintOf(() => chosen.objGet(none, 0)), 'nothing is pinned at that path');
  assert.equal(hintOf(() => chosen.mapFdById(4242)), 'no map has that id (it may have been freed)');
});
