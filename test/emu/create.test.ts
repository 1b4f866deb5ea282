// MAP_CREATE's answers at the kernel's limits, differentially: each case asserts the real
// kernel's answer, then the emulator's equals it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BpfMap } from '../../src/map/map.js';
import {
  BPF_F_NO_COMMON_LRU,
  BPF_F_NO_PREALLOC,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_QUEUE,
  BPF_MAP_TYPE_STACK,
} from '../../src/sys/constants.js';
import { assertKernelAnswer } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';

const MiB = 1 << 20;

test('NO_COMMON_LRU rounds max_entries up to a multiple of the CPUs for lru_hash too, and the buckets follow', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel({ cpus: linux.possibleCpus() });
  const cpus = linux.possibleCpus();
  for (const mapType of [BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH]) {
    for (const m of [1, 3, 5, 7]) {
      const max = Math.ceil(m / cpus) * cpus;
      let buckets = 1;
      while (buckets < max) buckets *= 2;
      const cursor = Buffer.alloc(4);
      cursor.writeUInt32LE(buckets);
      assertKernelAnswer(linux, emu, {
        map: { mapType, keySize: 4, valueSize: 4, maxEntries: m, mapFlags: BPF_F_NO_COMMON_LRU },
        // An empty walk of the whole table ends with the bucket count as its cursor.
        ops: [{ op: 'lookupBatch', cursor: 'start', count: 1 }],
      }, [`create ok type=${mapType} key=4 value=4 max=${max} `, `lookupBatch count=0 done=true cursor=${cursor.toString('hex')}`], `type ${mapType}, max_entries ${m}`);
    }
  }
});

test('per-CPU value sizes near 2^31: E2BIG from the kernel and the emulator, a BpfError from BpfMap.create', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel({ cpus: linux.possibleCpus() });
  for (const mapType of [BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH]) {
    for (const valueSize of [32 * 1024 + 1, 2 ** 31 - 8, 2 ** 31 - 7, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
      assertKernelAnswer(linux, emu, { map: { mapType, keySize: 4, valueSize, maxEntries: 1, mapFlags: 0 }, ops: [] },
        ['create BPF_MAP_CREATE E2BIG'], `type ${mapType}, value size ${valueSize}`);
    }
    assertKernelAnswer(linux, emu, { map: { mapType, keySize: 4, valueSize: 32 * 1024, maxEntries: 1, mapFlags: 0 }, ops: [] },
      [`create ok type=${mapType} key=4 value=32768 `], `type ${mapType}, value size 32 KiB`);
  }
  assert.throws(() => BpfMap.create({ kernel: emu, type: 'percpu_array', keySize: 4, valueSize: 2 ** 31 - 7, maxEntries: 1 }),
    (e: unknown) => e instanceof BpfError && e.code === 'E2BIG');
});

test('lpm_trie: values up to KMALLOC_MAX_SIZE minus 256 data bytes and the 24-byte node', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (let valueSize = 4 * MiB - 288; valueSize <= 4 * MiB - 278; valueSize++) {
    const ok = valueSize <= 4 * MiB - 280;
    assertKernelAnswer(linux, emu, { map: { mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize, maxEntries: 1, mapFlags: BPF_F_NO_PREALLOC }, ops: [] },
      [ok ? 'create ok' : 'create BPF_MAP_CREATE EINVAL'], `lpm_trie, value size ${valueSize}`);
  }
});

test('hashes above 2^27 entries: E2BIG (the bucket array must fit 32 bits), before any allocation', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const mapType of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH]) {
    for (const maxEntries of [2 ** 27 + 1, 2 ** 30, 2 ** 31, 2 ** 31 + 1]) {
      for (const mapFlags of mapType === BPF_MAP_TYPE_LRU_HASH ? [0] : [0, BPF_F_NO_PREALLOC]) {
        assertKernelAnswer(linux, emu, { map: { mapType, keySize: 4, valueSize: 4, maxEntries, mapFlags }, ops: [] },
          ['create BPF_MAP_CREATE E2BIG'], `type ${mapType}, flags ${mapFlags}, max_entries ${maxEntries}`);
      }
    }
  }
});

test('maps whose up-front allocation exceeds the RAM: ENOMEM from both kernels', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  // Each is terabytes: more than any machine this runs on has, so the kernel refuses before trying.
  const cases = [
    { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 1024, maxEntries: 2 ** 32 - 1, mapFlags: 0 },
    { mapType: BPF_MAP_TYPE_STACK, keySize: 0, valueSize: 4 * MiB, maxEntries: 2 ** 20, mapFlags: 0 },
    { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 1024, maxEntries: 2 ** 32 - 1, mapFlags: 0 },
    { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4 * MiB - 100, maxEntries: 2 ** 24, mapFlags: 0 },
  ];
  for (const map of cases) assertKernelAnswer(linux, emu, { map, ops: [] }, ['create BPF_MAP_CREATE ENOMEM'], `type ${map.mapType}`);
});

test('the emulator refuses (ENOMEM) exactly the areas larger than its RAM, in pages', () => {
  const gib = 2 ** 30;
  const emu = new EmulatedKernel({ totalRam: gib });
  const outcome = (valueSize: number, maxEntries: number): string => {
    try {
      emu.close(emu.mapCreate({ mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize, maxEntries, mapFlags: 0 }));
      return 'ok';
    } catch (e) {
      if (e instanceof BpfError) return e.code;
      throw e;
    }
  };
  // 312 bytes of struct bpf_queue_stack, then max_entries + 1 slots: a partial last page is free.
  const largest = gib + 4096 - 314;
  assert.equal(outcome(1, largest), 'ok');
  assert.equal(outcome(1, largest + 1), 'ENOMEM');
  assert.equal(outcome(4096, gib / 4096 - 1), 'ok');
  assert.equal(outcome(4096, gib / 4096), 'ENOMEM');
});

test('the emulator builds the largest hash the kernel allows (2^27 entries) and walks it', () => {
  const emu = new EmulatedKernel();
  const fd = emu.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 27, mapFlags: BPF_F_NO_PREALLOC });
  const key = Buffer.alloc(4);
  for (const k of [5, 2 ** 27 - 1, 77_777_777]) {
    key.writeUInt32LE(k);
    emu.update(fd, key, key, 0);
  }
  const next = Buffer.alloc(4);
  const seen: number[] = [];
  for (let k: Buffer | null = null; emu.nextKey(fd, k, next); k = Buffer.from(next)) seen.push(next.readUInt32LE(0));
  assert.deepEqual(seen.sort((a, b) => a - b), [5, 77_777_777, 2 ** 27 - 1]);
  const cursor = Buffer.alloc(4);
  const r = emu.lookupBatch(fd, { inBatch: null, outBatch: cursor, keys: Buffer.alloc(16), values: Buffer.alloc(16), count: 4, elemFlags: 0, flags: 0 });
  assert.deepEqual([r.count, r.done, cursor.readUInt32LE(0)], [3, true, 2 ** 27]);
  emu.close(fd);
});

test('fd 0 is open but no BPF object: EINVAL as inner_map_fd, btf_fd and to OBJ_GET_INFO_BY_FD', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  assertKernelAnswer(linux, emu, { map: { mapType: BPF_MAP_TYPE_ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, innerMapFd: 0 }, ops: [] },
    ['create BPF_MAP_CREATE EINVAL'], 'array_of_maps, inner_map_fd 0');
  assertKernelAnswer(linux, emu, { map: { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, btfFd: 0, btfKeyTypeId: 1, btfValueTypeId: 1 }, ops: [] },
    ['create BPF_MAP_CREATE EINVAL'], 'hash, btf_fd 0');
  const code = (k: LinuxKernel | EmulatedKernel): string => {
    try {
      k.mapInfo(0);
      return 'ok';
    } catch (e) {
      return e instanceof BpfError ? e.code : String(e);
    }
  };
  assert.equal(code(linux), 'EINVAL');
  assert.equal(code(emu), 'EINVAL');
});
