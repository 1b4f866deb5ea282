import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder, encodeBtf } from '../../src/btf/encode.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfMap } from '../../src/map/map.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import {
  BPF_ANY,
  BPF_F_LOCK,
  BPF_F_RDONLY_PROG,
  BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
} from '../../src/sys/constants.js';
import { btfKernels } from '../btf/fixtures.js';
import { assertKernelAnswer, assertSameOutcomes, prng, runScenario, seeds, type Op } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { keyPool, randomHex, randomOps, u32Hex } from '../helpers/random-ops.js';
import { LinuxKernel } from '../../src/kernel/linux.js';

/** What a call gave: its result, or the errno name it failed with. */
function outcome(f: () => unknown): string {
  try {
    const r = f();
    return typeof r === 'number' ? 'ok' : `ok ${JSON.stringify(r)}`;
  } catch (e) {
    if (e instanceof BpfError) return e.code;
    throw e;
  }
}

function types(): { blob: Buffer; u32: number; u64: number; locked: number; plain: number; nested: number } {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('long long unsigned int', 8);
  const locked = b.struct('locked', [{ name: 'lock', type: b.spinLock() }, { name: 'n', type: u64 }]);
  const plain = b.struct('plain', [{ name: 'a', type: u32 }, { name: 'n', type: u64 }]);
  const nested = b.struct('nested', [{ name: 'x', type: u64 }, { name: 'inner', type: locked }]);
  return { blob: b.build(), u32, u64, locked, plain, nested };
}

/** One scripted sequence of BTF commands; every outcome is recorded for comparison across kernels. */
function script(k: Kernel): string[] {
  const out: string[] = [];
  const fds: number[] = [];
  const t = types();
  const keep = (fd: number): number => (fds.push(fd), fd);
  try {
    const btf = keep(k.btfLoad(t.blob));
    const info = k.btfInfo(btf);
    out.push(`info size ${info.size} name "${info.name}" kernel ${info.kernelBtf}`);
    out.push(`data equal ${k.btfData(btf).equals(t.blob)}`);
    const create = (label: string, mapType: number, keySize: number, valueSize: number, key: number, value: number, btfFd = btf): number | undefined => {
      let fd: number | undefined;
      out.push(`${label}: ${outcome(() => (fd = keep(k.mapCreate({ mapType, keySize, valueSize, maxEntries: 4, mapFlags: 0, btfFd, btfKeyTypeId: key, btfValueTypeId: value }))))}`);
      return fd;
    };
    const hash = create('hash locked', BPF_MAP_TYPE_HASH, 4, 16, t.u32, t.locked);
    create('array locked', BPF_MAP_TYPE_ARRAY, 4, 16, t.u32, t.locked);
    create('hash nested lock', BPF_MAP_TYPE_HASH, 4, 24, t.u32, t.nested);
    create('percpu_hash locked', BPF_MAP_TYPE_PERCPU_HASH, 4, 16, t.u32, t.locked);
    create('lru_hash locked', BPF_MAP_TYPE_LRU_HASH, 4, 16, t.u32, t.locked);
    create('key id 0', BPF_MAP_TYPE_HASH, 4, 16, 0, t.plain);
    create('value id 0', BPF_MAP_TYPE_HASH, 4, 16, t.u32, 0);
    create('key size mismatch', BPF_MAP_TYPE_HASH, 8, 16, t.u32, t.plain);
    create('value size mismatch', BPF_MAP_TYPE_HASH, 4, 24, t.u32, t.plain);
    create('type id past the end', BPF_MAP_TYPE_HASH, 4, 16, 999, t.plain);
    create('array key not u32', BPF_MAP_TYPE_ARRAY, 8, 16, t.u64, t.plain);
    create('btf_fd closed', BPF_MAP_TYPE_HASH, 4, 16, t.u32, t.plain, 999_999);
    const plain = create('hash plain', BPF_MAP_TYPE_HASH, 4, 16, t.u32, t.plain);
    if (hash !== undefined) {
      const info = k.mapInfo(hash);
      out.push(`map btf ids ${info.btfId === k.btfInfo(btf).id} ${info.btfKeyTypeId} ${info.btfValueTypeId}`);
      const key = Buffer.from([1, 0, 0, 0]);
      const v = Buffer.alloc(16);
      v.fill(0xab, 0, 4); // the lock word: never stored
      v.writeBigUInt64LE(42n, 8);
      out.push(`update lock: ${outcome(() => k.update(hash, key, v, BPF_ANY | BPF_F_LOCK))}`);
      const got = Buffer.alloc(16);
      out.push(`lookup lock: ${outcome(() => k.lookup(hash, key, got, BPF_F_LOCK))} ${got.toString('hex')}`);
      out.push(`lookup: ${outcome(() => k.lookup(hash, key, got, 0))} ${got.toString('hex')}`);
      const keys = Buffer.alloc(8);
      const values = Buffer.alloc(32);
      keys.writeUInt32LE(2, 0);
      keys.writeUInt32LE(3, 4);
      values.writeBigUInt64LE(7n, 8);
      values.writeBigUInt64LE(9n, 24);
      out.push(`update batch lock: ${outcome(() => k.updateBatch(hash, { keys, values, count: 2, elemFlags: BPF_F_LOCK, flags: 0 }))}`);
      const outKeys = Buffer.alloc(16);
      const outValues = Buffer.alloc(64);
      const r = k.lookupBatch(hash, { inBatch: null, outBatch: Buffer.alloc(4), keys: outKeys, values: outValues, count: 4, elemFlags: BPF_F_LOCK, flags: 0 });
      const seen = Array.from({ length: r.count }, (_, i) => `${outKeys.readUInt32LE(i * 4)}=${outValues.toString('hex', i * 16, i * 16 + 16)}`).sort();
      out.push(`lookup batch lock: ${r.count} ${seen.join(' ')}`);
    }
    if (plain !== undefined) {
      const key = Buffer.from([1, 0, 0, 0]);
      out.push(`plain update lock: ${outcome(() => k.update(plain, key, Buffer.alloc(16), BPF_F_LOCK))}`);
      out.push(`plain lookup lock: ${outcome(() => k.lookup(plain, key, Buffer.alloc(16), BPF_F_LOCK))}`);
      out.push(`plain update batch lock: ${outcome(() => k.updateBatch(plain, { keys: key, values: Buffer.alloc(16), count: 1, elemFlags: BPF_F_LOCK, flags: 0 }))}`);
    }
    // Blobs BTF_LOAD refuses.
    const two = new BtfBuilder();
    two.struct('two', [{ name: 'a', type: two.spinLock() }, { name: 'b', type: two.spinLock() }]);
    out.push(`two locks: ${outcome(() => keep(k.btfLoad(two.build())))}`);
    const bits = new BtfBuilder();
    const bu = bits.int('unsigned int', 4);
    bits.struct('bits', [{ name: 'l', type: bits.spinLock() }, { name: 'x', type: bu, bits: 3, bitOffset: 32 }, { name: 'y', type: bu, bits: 5, bitOffset: 35 }]);
    out.push(`lock and sub-byte bitfields: ${outcome(() => keep(k.btfLoad(bits.build())))}`);
    out.push(`loop: ${outcome(() => keep(k.btfLoad(encodeBtf([{ kind: 'typedef', name: 'a', type: 2 }, { kind: 'typedef', name: 'b', type: 1 }]))))}`);
    out.push(`dangling: ${outcome(() => keep(k.btfLoad(encodeBtf([{ kind: 'ptr', name: '', type: 7 }]))))}`);
    out.push(`garbage: ${outcome(() => keep(k.btfLoad(Buffer.from('no BTF here, just some text bytes'))))}`);
    out.push(`fd by id 0xfffffff0: ${outcome(() => keep(k.btfFdById(0xfffffff0)))}`);
  } finally {
    for (const fd of fds.reverse()) k.close(fd);
  }
  return out;
}

test('BTF commands give the same outcomes on the real and the emulated kernel', (t) => {
  if (!linuxAvailable(t)) return;
  const [linux, emulated] = btfKernels().map((k) => script(k.kernel()));
  assert.deepEqual(emulated, linux);
  // The script is not vacuous: both kernels accepted and refused things.
  assert.ok(linux?.some((l) => l.endsWith(': ok')) && linux.some((l) => / E[A-Z0-9]+$/.test(l)));
});

test('emulated BTF objects: by id while held, refused loads say why', () => {
  const k = btfKernels()[1]?.kernel() as Kernel;
  const fd = k.btfLoad(types().blob);
  const { id } = k.btfInfo(fd);
  const again = k.btfFdById(id);
  assert.equal(k.btfInfo(again).id, id);
  assert.ok((k.nextBtfId(id - 1) ?? 0) <= id);
  k.close(again);
  k.close(fd);
  assert.throws(() => k.btfFdById(id), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
  assert.throws(() => k.btfLoad(encodeBtf([{ kind: 'ptr', name: '', type: 7 }])), /emulated kernel's BTF check says: .*past the last type/);
});

test('emulated: a pinned map keeps its BTF for other processes (a second kernel on the same store)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-btf-pins-'));
  try {
    const k1 = new EmulatedKernel({ dir });
    const b = new BtfBuilder();
    const v = b.struct('val', [{ name: 'lock', type: b.spinLock() }, { name: 'name', type: b.array(b.int('char', 1), 8) }]);
    const path = '/sys/fs/bpf/btf-pin-test';
    {
      using m = BpfMap.create<BtfValue, BtfValue>({ kernel: k1, type: 'hash', maxEntries: 4, btf: { value: { btf: b.btf(), type: v } }, keySize: 4 }) as BpfMap<BtfValue, BtfValue>;
      m.set(7, { name: 'seven' });
      m.pin(path);
    }
    const k2 = new EmulatedKernel({ dir });
    using again = BpfMap.openPinned<BtfValue, BtfValue>(path, { kernel: k2 });
    assert.ok(again.info().btfId > 0);
    assert.deepEqual(again.get(7), { lock: { val: 0 }, name: 'seven' });
    assert.deepEqual(again.get(7, { lock: true }), { lock: { val: 0 }, name: 'seven' }, 'the spin lock travels too');
    k2.unpin(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A map whose 16-byte value holds a bpf_spin_lock. */
function lockedMap(mapType: number, maxEntries: number, mapFlags: number): { btf: Buffer; map: { mapType: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number; btfKeyTypeId: number; btfValueTypeId: number } } {
  const t = types();
  return { btf: t.blob, map: { mapType, keySize: 4, valueSize: 16, maxEntries, mapFlags, btfKeyTypeId: t.u32, btfValueTypeId: t.locked } };
}

const lockValue = (n: number): string => `00000000${'00000000'}${u32Hex(n)}00000000`;

test('BPF_F_LOCK updates an existing hash element in place: bucket order, walks and batches stay as before', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  const keys = Array.from({ length: 8 }, (_, i) => u32Hex(i));
  const ops: Op[] = [
    ...keys.map((key, i): Op => ({ op: 'update', key, value: lockValue(i) })),
    { op: 'walk' },
    // Other orders than the inserts': moved to their bucket's head, the keys would change places.
    ...keys.map((key, i): Op => ({ op: 'update', key, value: lockValue(i), flags: BPF_F_LOCK })).reverse(),
    { op: 'walk' },
    { op: 'updateBatch', keys: [1, 0, 3, 2, 5, 4, 7, 6].map(u32Hex), values: [1, 0, 3, 2, 5, 4, 7, 6].map(lockValue), elemFlags: BPF_F_LOCK },
    { op: 'walk' },
    { op: 'lookupAndDeleteBatch', cursor: 'start', count: 8 },
  ];
  const s = { ...lockedMap(BPF_MAP_TYPE_HASH, 4, BPF_F_ZERO_SEED), ops };
  const got = runScenario(linux, s);
  // 8 keys in 4 buckets: an update that moved keys to their bucket's head would change the walk.
  assert.equal(got[9], got[18], 'the kernel keeps the order after single BPF_F_LOCK updates');
  assert.equal(got[9], got[20], 'and after an UPDATE_BATCH with BPF_F_LOCK');
  assertSameOutcomes(linux, emu, s, 'hash with a spin lock, BPF_F_LOCK updates');
});

test('a map whose value holds a spin lock cannot be frozen (ENOTSUPP) and stays writable', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel();
  for (const mapType of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY]) {
    assertKernelAnswer(linux, emu, {
      ...lockedMap(mapType, 4, 0),
      ops: [{ op: 'freeze' }, { op: 'update', key: u32Hex(1), value: lockValue(5) }, { op: 'lookup', key: u32Hex(1) }],
    }, ['create ok', 'freeze BPF_MAP_FREEZE ENOTSUPP', 'update ok', `lookup true ${lockValue(5)}`], `type ${mapType}`);
  }
});

test('a spin-lock value with BPF_F_RDONLY_PROG or BPF_F_WRONLY_PROG: EACCES, before the per-type check', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const emu = new EmulatedKernel({ cpus: linux.possibleCpus() });
  for (const mapType of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH]) {
    for (const flags of [BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG]) {
      assertKernelAnswer(linux, emu, { ...lockedMap(mapType, 4, flags), ops: [] }, ['create BPF_MAP_CREATE EACCES'], `type ${mapType}, flags ${flags}`);
    }
  }
});

for (const mapType of [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY]) {
  test(`differential, ${mapType === BPF_MAP_TYPE_HASH ? 'hash' : 'array'} with a spin lock: random sequences with and without BPF_F_LOCK`, (t) => {
    if (!linuxAvailable(t)) return;
    const linux = new LinuxKernel();
    const emu = new EmulatedKernel();
    for (const seed of seeds()) {
      const rng = prng(seed);
      const hash = mapType === BPF_MAP_TYPE_HASH;
      const keys = hash ? keyPool(rng, 4, 20) : Array.from({ length: 10 }, (_, i) => u32Hex(i));
      const ops = randomOps(rng, {
        keys,
        value: (r) => randomHex(r, 16),
        updateFlags: [0, 1, 2, BPF_F_LOCK, BPF_F_LOCK, BPF_F_LOCK | 1, BPF_F_LOCK | 2, 3],
        keyed: true,
        maxBatch: 6,
        cursor: 4,
      }, 600).map((op): Op => ('elemFlags' in op && op.elemFlags === 0 && rng() < 0.3 ? { ...op, elemFlags: BPF_F_LOCK } : op));
      assertSameOutcomes(linux, emu, { ...lockedMap(mapType, 12, hash ? BPF_F_ZERO_SEED : 0), ops }, `spin lock, type ${mapType}, seed ${seed} (rerun with BPFMAP_DIFF_SEED=${seed})`);
    }
  });
}
