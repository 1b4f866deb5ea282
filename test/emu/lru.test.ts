// The kernel's LRU (bpf_lru_list.c), differentially: this process is pinned to CPU 0 with taskset,
// the emulator's default CPU, so both kernels evict the same elements at the same moments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_NO_COMMON_LRU,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_NOEXIST,
} from '../../src/sys/constants.js';
import { assertSameOutcomes, prng, seeds, type Op, type Scenario } from '../helpers/differential.js';
import { linuxAvailable, pinnedToCpu0, pinTo, u32 } from '../helpers/kernel.js';
import { keyPool, randomHex, randomOps, u32Hex } from '../helpers/random-ops.js';

const SIZES = [3, 16, 64, 200, 1000];
const TYPES = [
  { name: 'lru_hash', type: BPF_MAP_TYPE_LRU_HASH },
  { name: 'lru_percpu_hash', type: BPF_MAP_TYPE_LRU_PERCPU_HASH },
];
const LISTS = [
  { name: 'common LRU', flags: BPF_F_ZERO_SEED },
  { name: 'NO_COMMON_LRU', flags: BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU },
];

function kernels(t: Parameters<typeof linuxAvailable>[0]): { linux: LinuxKernel; emu: EmulatedKernel } | null {
  if (!linuxAvailable(t) || !pinnedToCpu0(t)) return null;
  const linux = new LinuxKernel();
  return { linux, emu: new EmulatedKernel({ cpus: linux.possibleCpus() }) };
}

/** Ops over u32 keys; every value is its key's number repeated, so walks show which key survived. */
class Script {
  readonly ops: Op[] = [];
  constructor(private readonly valueBytes: number) {}
  private value(i: number): string {
    return Buffer.alloc(this.valueBytes, i % 251).toString('hex');
  }
  update(i: number, flags: number = BPF_ANY): this {
    this.ops.push({ op: 'update', key: u32Hex(i), value: this.value(i), flags });
    return this;
  }
  fill(from: number, to: number, walkEvery = 0): this {
    for (let i = from; i < to; i++) {
      this.update(i);
      if (walkEvery > 0 && (i - from) % walkEvery === walkEvery - 1) this.walk();
    }
    return this;
  }
  walk(): this {
    this.ops.push({ op: 'walk' });
    return this;
  }
  push(...ops: Op[]): this {
    this.ops.push(...ops);
    return this;
  }
}

type Build = (s: Script, max: number) => void;

const SCENARIOS: Array<{ what: string; build: Build }> = [
  { what: 'fills past capacity', build: (s, max) => void s.fill(0, 2 * max + 7, Math.max(1, max >> 2)).walk() },
  {
    what: 'overwrites of a full map (BPF_ANY and BPF_EXIST), then new keys',
    build: (s, max) => {
      s.fill(0, max).walk();
      for (let i = 0; i < max; i += 3) s.update(i, i % 2 ? BPF_EXIST : BPF_ANY);
      s.walk().fill(10_000, 10_000 + max, Math.max(1, max >> 1)).walk();
    },
  },
  {
    what: 'failing updates on a full map (EEXIST, ENOENT), then new keys',
    build: (s, max) => {
      s.fill(0, max).walk();
      for (let i = 0; i < Math.max(4, max >> 2); i++) s.update(max - 1 - i, BPF_NOEXIST).update(20_000 + i, BPF_EXIST);
      s.walk().fill(10_000, 10_000 + max, Math.max(1, max >> 1)).walk();
    },
  },
  {
    what: 'deletes (single, batch, lookup-and-delete) then inserts',
    build: (s, max) => {
      s.fill(0, max + (max >> 1)).walk();
      for (let i = 0; i < max + (max >> 1); i += 2) s.push({ op: 'delete', key: u32Hex(i) });
      s.walk().fill(10_000, 10_000 + (max >> 1)).walk();
      s.push({ op: 'lookupAndDelete', key: u32Hex(10_000) }, { op: 'deleteBatch', keys: [1, 3, 5, 10_001].map(u32Hex) });
      s.push({ op: 'lookupAndDeleteBatch', cursor: 'start', count: 64 });
      s.fill(30_000, 30_000 + max, Math.max(1, max >> 2)).walk();
    },
  },
];

for (const { name, type } of TYPES) {
  for (const { name: lists, flags } of LISTS) {
    test(`${name}, ${lists}, pinned to CPU 0: the kernel's survivors in the kernel's order, max_entries ${SIZES.join(', ')}`, (t) => {
      const k = kernels(t);
      if (!k) return;
      const valueBytes = type === BPF_MAP_TYPE_LRU_PERCPU_HASH ? 8 * k.linux.possibleCpus() : 8;
      for (const max of SIZES) {
        for (const { what, build } of SCENARIOS) {
          const s = new Script(valueBytes);
          build(s, max);
          const scenario: Scenario = { map: { mapType: type, keySize: 4, valueSize: 8, maxEntries: max, mapFlags: flags }, ops: s.ops };
          assertSameOutcomes(k.linux, k.emu, scenario, `${name}(${max}), ${lists}: ${what}`);
        }
      }
    });

    test(`differential, ${name}, ${lists}, pinned to CPU 0: random sequences at and past capacity`, (t) => {
      const k = kernels(t);
      if (!k) return;
      const valueBytes = type === BPF_MAP_TYPE_LRU_PERCPU_HASH ? 8 * k.linux.possibleCpus() : 8;
      for (const seed of seeds()) {
        for (const max of [3, 16, 64]) {
          const rng = prng(seed ^ max);
          const ops = randomOps(rng, {
            keys: keyPool(rng, 4, max * 2 + 4),
            value: (r) => randomHex(r, valueBytes),
            updateFlags: [0, 0, 0, 1, 2, 2, 3, 4],
            keyed: true,
            maxBatch: 8,
            cursor: 4,
          }, 800);
          const map = { mapType: type, keySize: 4, valueSize: 8, maxEntries: max, mapFlags: flags };
          assertSameOutcomes(k.linux, k.emu, { map, ops }, `${name}(${max}), ${lists}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
        }
      }
    });
  }
}

function count(k: Kernel, fd: number): number {
  let n = 0;
  const next = Buffer.alloc(4);
  let key: Buffer | null = null;
  while (k.nextKey(fd, key, next)) {
    n++;
    key = Buffer.from(next);
  }
  return n;
}

test('the kernel frees in batches: one insert past a full common LRU evicts max/CPUs/2 elements, on both kernels', (t) => {
  const k = kernels(t);
  if (!k) return;
  const cpus = k.linux.possibleCpus();
  for (const max of [16, 200, 1000]) {
    // bpf_common_lru_populate: target_free = clamp(max / cpus / 2, 1, 128).
    const batch = Math.min(Math.max(Math.floor(Math.floor(max / cpus) / 2), 1), 128);
    for (const kernel of [k.linux, k.emu] as Kernel[]) {
      const fd = kernel.mapCreate({ mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: max, mapFlags: 0 });
      for (let i = 0; i < max; i++) kernel.update(fd, u32(i), Buffer.alloc(8), BPF_ANY);
      if (max % batch !== 0) {
        // The last refill finds fewer free nodes than a batch and evicts the rest: before the map is full.
        assert.equal(count(kernel, fd), max - (batch - (max % batch)), `${kernel.kind}: lru_hash(${max}) after ${max} inserts`);
        kernel.close(fd);
        continue;
      }
      assert.equal(count(kernel, fd), max, `${kernel.kind}: lru_hash(${max}) after ${max} inserts`);
      kernel.update(fd, u32(max), Buffer.alloc(8), BPF_ANY);
      assert.equal(count(kernel, fd), max - batch + 1, `${kernel.kind}: lru_hash(${max}) after ${max + 1} inserts`);
      kernel.close(fd);
      const full = kernel.mapCreate({ mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: max, mapFlags: 0 });
      for (let i = 0; i < max; i++) kernel.update(full, u32(i), Buffer.alloc(8), BPF_ANY);
      kernel.update(full, u32(max - 1), Buffer.alloc(8), BPF_ANY);
      assert.equal(count(kernel, full), max - batch, `${kernel.kind}: a full lru_hash(${max}) after one overwrite`);
      kernel.close(full);
    }
  }
});

function walk(k: Kernel, fd: number): string {
  const out: number[] = [];
  const next = Buffer.alloc(4);
  for (let key: Buffer | null = null; k.nextKey(fd, key, next); key = Buffer.from(next)) out.push(next.readUInt32LE(0));
  return out.join(',');
}

test('calls on several CPUs: re-pinned between calls (taskset) and with the emulator\'s cpu set alike, same survivors', (t) => {
  const k = kernels(t);
  if (!k) return;
  const cpus = Math.min(k.linux.possibleCpus(), 2);
  try {
    for (const { type } of TYPES) {
      for (const { flags } of LISTS) {
        for (const max of [3, 16, 64, 200]) {
          const rng = prng(max);
          const valueBytes = type === BPF_MAP_TYPE_LRU_PERCPU_HASH ? 8 * k.linux.possibleCpus() : 8;
          const both: Kernel[] = [k.linux, k.emu];
          const fds: number[] = both.map((kernel) => kernel.mapCreate({ mapType: type, keySize: 4, valueSize: 8, maxEntries: max, mapFlags: flags }));
          const label = `type ${type}, flags ${flags}, max_entries ${max}`;
          for (let i = 0; i < max * 6; i++) {
            if (rng() < 0.05) {
              const cpu = Math.floor(rng() * cpus);
              pinTo(cpu);
              k.emu.cpu = cpu;
            }
            const key = u32(Math.floor(rng() * max * 2));
            const r = rng();
            const outcomes: string[] = both.map((kernel, j) => {
              try {
                if (r < 0.1) return String(kernel.delete(fds[j] as number, key));
                kernel.update(fds[j] as number, key, Buffer.alloc(valueBytes, i), r < 0.7 ? BPF_ANY : r < 0.85 ? BPF_NOEXIST : BPF_EXIST);
                return 'ok';
              } catch (e) {
                if (e instanceof BpfError) return e.code;
                throw e;
              }
            });
            assert.equal(outcomes[1], outcomes[0], `${label}, op ${i}`);
            if (i % 5 === 0) assert.equal(walk(k.emu, fds[1] as number), walk(k.linux, fds[0] as number), `${label}, after op ${i}`);
          }
          k.linux.close(fds[0] as number);
          k.emu.close(fds[1] as number);
        }
      }
    }
  } finally {
    pinTo(0);
    k.emu.cpu = 0;
  }
});

test('emulator: the CPU a call runs on is a model input (per-CPU LRU lists); an impossible CPU is a RangeError', () => {
  const k = new EmulatedKernel({ cpus: 2 });
  const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: BPF_F_NO_COMMON_LRU });
  // Each CPU owns 4 of the 8 nodes: CPU 0's inserts evict among themselves only.
  for (let i = 0; i < 6; i++) k.update(fd, u32(i), Buffer.alloc(8), BPF_ANY);
  assert.equal(count(k, fd), 2, 'CPU 0 evicted its 4 elements at its fifth insert (PERCPU_FREE_TARGET)');
  k.cpu = 1;
  for (let i = 100; i < 104; i++) k.update(fd, u32(i), Buffer.alloc(8), BPF_ANY);
  assert.equal(count(k, fd), 6, "CPU 1's nodes were free: nothing evicted");
  assert.throws(() => (k.cpu = 2), RangeError);
  assert.throws(() => k.update(fd, u32(1), Buffer.alloc(8), 4), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
  k.close(fd);
});
