import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytes } from '../../src/codec/bytes.js';
import { i64, u32, u64 } from '../../src/codec/int.js';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap, MapClosedError } from '../../src/map/map.js';
import { Assembler, type Reg } from '../../src/prog/asm.js';
import { BpfProgram } from '../../src/prog/program.js';
import { MmapError } from '../../src/sys/mmap.js';
import { assertNoDetach } from '../helpers/detach.js';
import { linuxAvailable, pinPath, testKernels } from '../helpers/kernel.js';

/** A raw LOOKUP_ELEM through the kernel, past the map's memory path. */
function kernelLookup(map: BpfMap<number, unknown>, i: number): Buffer {
  const value = Buffer.alloc(map.valueBytes);
  const key = Buffer.alloc(4);
  key.writeUInt32LE(i);
  assert.equal(map.kernel.lookup(map.fd, key, value, 0), true);
  return value;
}

function kernelUpdate(map: BpfMap<number, unknown>, i: number, value: Buffer): void {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(i);
  map.kernel.update(map.fd, key, value, 0);
}

for (const K of testKernels()) {
  describe(`mmapable arrays on ${K.name}`, () => {
    test('memory() of u64 counters is a BigUint64Array shared with the kernel both ways', (t) => {
      if (!K.available(t)) return;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: u64, maxEntries: 1000, flags: ['mmapable'] });
      assert.equal(map.mmapable, true);
      const mem = map.memory();
      assert.ok(mem.view instanceof BigUint64Array);
      assert.equal(mem.step, 1);
      assert.equal(mem.stride, 8);
      assert.equal(mem.length, 1000);
      assert.equal(mem.writable, true);
      assert.equal(map.memory(), mem, 'one mapping per map');
      const view = mem.view as BigUint64Array;
      view[7] = 77n;
      assert.equal(kernelLookup(map, 7).readBigUInt64LE(), 77n, 'a write to memory is seen by LOOKUP_ELEM');
      kernelUpdate(map, 999, Buffer.from([1, 2, 0, 0, 0, 0, 0, 0]));
      assert.equal(view[999], 0x201n, 'an UPDATE_ELEM is seen in memory');
      // The map's verbs read and write memory.
      map.set(3, 33n);
      assert.equal(view[3], 33n);
      assert.equal(map.get(999), 0x201n);
      assert.equal(map.has(999), true);
      assert.equal(map.get(1000), undefined, 'past the end: the kernel says no such element');
      assert.equal(map.has(1000), false);
      assert.throws(
        () => map.set(1000, 1n),
        (e: unknown) => e instanceof BpfError && e.code === 'E2BIG',
      );
      assert.throws(
        () => map.set(3, 1n, { flags: 'noexist' }),
        (e: unknown) => e instanceof BpfError && e.code === 'EEXIST',
      );
      map.set(4, 44n, { flags: 'exist' });
      assert.equal(mem.get(4), 44n);
      mem.set(5, 55n);
      assert.equal(map.get(5), 55n);
      assert.throws(() => mem.get(1000), RangeError);
      assert.throws(() => mem.set(-1, 1n), RangeError);
    });

    test('entries(), keys(), values() and dump() read memory (mode memory) and agree with the batch walk', (t) => {
      if (!K.available(t)) return;
      using map = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: u64, maxEntries: 2500, flags: ['mmapable'] });
      for (let i = 0; i < 2500; i += 3) map.set(i, BigInt(i) * 1_000_000_007n);
      const it = map.entries({ batchSize: 100 });
      assert.equal(it.mode, 'memory');
      const fromMemory = [...it];
      const viaKernel = [...map.entries({ mode: 'batch' })];
      assert.equal(fromMemory.length, 2500);
      assert.deepEqual(fromMemory, viaKernel);
      assert.deepEqual(
        [...map.keys()],
        viaKernel.map(([k]) => k),
      );
      assert.deepEqual(
        [...map.values()],
        viaKernel.map(([, v]) => v),
      );
      const d = map.dump();
      assert.equal(d.mode, 'memory');
      const b = map.dump({ mode: 'batch' });
      assert.equal(d.count, 2500);
      assert.deepEqual(d.keys, b.keys);
      assert.deepEqual(d.values, b.values);
      // A dump is a copy: later writes do not change it.
      map.set(0, 5n);
      assert.equal(d.value(0), 0n);
      const again = map.dump({ into: d });
      assert.equal(again.value(0), 5n);
      assert.equal(again.count, 2500);
    });

    test('values narrower than 8 bytes sit at 8-byte strides: u32 view has step 2, other codecs no view', (t) => {
      if (!K.available(t)) return;
      using small = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: u32, maxEntries: 10, flags: ['mmapable'] });
      const mem = small.memory();
      assert.equal(mem.stride, 8);
      assert.equal(mem.step, 2);
      assert.ok(mem.view instanceof Uint32Array);
      small.set(3, 0xdeadbeef);
      assert.equal((mem.view as Uint32Array)[6], 0xdeadbeef);
      assert.equal(kernelLookup(small, 3).readUInt32LE(), 0xdeadbeef);
      assert.deepEqual(small.dump().values, small.dump({ mode: 'batch' }).values, 'the dump packs values at value_size');
      assert.deepEqual([...small.entries({ batchSize: 4 })], [...small.entries({ mode: 'batch' })]);

      using odd = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: bytes(12), maxEntries: 5, flags: ['mmapable'] });
      const m2 = odd.memory();
      assert.equal(m2.stride, 16);
      assert.equal(m2.view, undefined);
      const v = Buffer.from('0123456789ab');
      odd.set(4, v);
      assert.deepEqual(kernelLookup(odd, 4), v);
      assert.deepEqual(m2.bytes.subarray(64, 76), v);
      assert.deepEqual(odd.get(4), v);
      assert.deepEqual(odd.dump().values, odd.dump({ mode: 'batch' }).values);
      assert.throws(() => m2.set(0, Buffer.alloc(3)), TypeError, 'a value the codec refuses');
    });

    test('close() unmaps the memory; freeze() remaps it read-only', (t) => {
      if (!K.available(t)) return;
      const map = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: u64, maxEntries: 8, flags: ['mmapable'] });
      const mem = map.memory();
      map.set(1, 11n);
      map.freeze();
      assert.equal(mem.detached, true, 'the writable mapping is gone: the kernel cannot freeze a map mapped writable');
      // A stale view no longer reaches the map: it keeps its length and reads zeros.
      const stale = mem.view as BigUint64Array;
      assert.equal(stale.length, 8);
      assert.equal(stale[1], 0n, 'a stale view reads zeros, not the map');
      assert.throws(() => mem.get(1), RangeError);
      const ro = map.memory();
      assert.equal(ro.writable, false);
      assert.equal(ro.get(1), 11n);
      assert.equal(map.get(1), 11n);
      assert.throws(() => ro.set(1, 2n), TypeError);
      assert.throws(
        () => map.set(1, 2n),
        (e: unknown) => e instanceof BpfError && e.code === 'EPERM',
        'set on a frozen map: the kernel refuses',
      );
      map.close();
      assert.equal(ro.detached, true);
      assert.equal(ro.bytes.readBigUInt64LE(8), 0n);
      assert.throws(() => map.memory(), MapClosedError);
    });

    test('a map opened read-only maps read-only; a frozen map is mapped read-only on open', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using map = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 4, flags: ['mmapable'] });
      map.set(2, 22n);
      const path = pinPath('mmap-ro');
      map.pin(path);
      try {
        using ro = BpfMap.openPinned(path, { kernel, key: u32, value: u64, readOnly: true });
        const mem = ro.memory();
        assert.equal(mem.writable, false);
        assert.equal(mem.get(2), 22n);
        assert.deepEqual([...ro.values()], [0n, 0n, 22n, 0n]);
        using wo = BpfMap.openPinned(path, { kernel, key: u32, value: u64, writeOnly: true });
        assert.throws(
          () => wo.memory(),
          (e: unknown) => e instanceof MmapError && e.errno > 0 && /EACCES/.test(e.message),
        );
        wo.set(2, 23n);
        assert.equal(mem.get(2), 23n, 'a write-only fd still writes, through the syscall');
      } finally {
        kernel.unpin(path);
      }
    });

    test('maps that cannot be mapped: memory() and mode memory say why, before any syscall', (t) => {
      if (!K.available(t)) return;
      using plain = BpfMap.create({ kernel: K.kernel(), type: 'array', key: u32, value: u64, maxEntries: 4 });
      using hash = BpfMap.create({ kernel: K.kernel(), type: 'hash', key: u32, value: u64, maxEntries: 4 });
      assert.equal(plain.mmapable, false);
      assert.throws(() => plain.memory(), /without the flag/);
      assert.throws(() => hash.memory(), /hash/);
      assert.throws(() => hash.entries({ mode: 'memory' }), TypeError);
      assert.equal(plain.entries().mode, 'batch');
    });
  });
}

const R0: Reg = 0,
  R1: Reg = 1,
  R2: Reg = 2,
  R3: Reg = 3,
  FP: Reg = 10;

test('a BPF program sees what userspace wrote to the memory, and userspace what the program wrote', (t) => {
  if (!linuxAvailable(t)) return;
  using map = BpfMap.create({ type: 'array', key: u32, value: u64, maxEntries: 4, flags: ['mmapable'] });
  // value[2] += 1; return the value it had (low 32 bits).
  const insns = new Assembler()
    .storeImm('w', FP, -4, 2)
    .ldMapFd(R1, map.fd)
    .movReg(R2, FP)
    .alu64('add', R2, -4)
    .call('map_lookup_elem')
    .jmp('jeq', R0, 0, 'out')
    .load('dw', R1, R0, 0)
    .movReg(R3, R1)
    .alu64('add', R3, 1)
    .store('dw', R0, 0, R3)
    .movReg(R0, R1)
    .exit()
    .label('out')
    .mov(R0, 0xffff)
    .exit()
    .build();
  using prog = BpfProgram.load({ type: 'socket_filter', insns, name: 'bpfmap_mmap' });
  const view = map.memory().view as BigUint64Array;
  view[2] = 41n;
  assert.equal(prog.testRun().retval, 41, 'the program read the value userspace stored');
  assert.equal(view[2], 42n, 'userspace reads the value the program stored');
  assert.equal(prog.testRun({ repeat: 1000 }).retval, 1041);
  assert.equal(view[2], 1042n);
  assert.equal(map.get(2), 1042n);
});

for (const K of testKernels()) {
  test(`sum() adds every value exactly on ${K.name}: u64 past 2^64, i64 negatives, u32, and refuses what a number cannot hold`, (t) => {
    if (!K.available(t)) return;
    const kernel = K.kernel();
    using big = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 3000, flags: ['mmapable'] });
    const v = big.memory().view as BigUint64Array;
    let expected = 0n;
    for (let i = 0; i < 3000; i++) {
      v[i] = (1n << 64n) - 1n - BigInt(i) * 0x1_0000_0001n;
      expected += v[i] as bigint;
    }
    assert.equal(big.memory().sum(), expected);
    // Past one block of 2^20 values, and a count that leaves values after the last full turn of four.
    const many = 2 ** 20 + 3;
    using long = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: many, flags: ['mmapable'] });
    (long.memory().view as BigUint64Array).fill((1n << 64n) - 1n);
    assert.equal(long.memory().sum(), BigInt(many) * ((1n << 64n) - 1n));
    using signed = BpfMap.create({ kernel, type: 'array', key: u32, value: i64, maxEntries: 5, flags: ['mmapable'] });
    [-5n, -(1n << 62n), 3n, 1n << 40n, -1n].forEach((x, i) => signed.set(i, x));
    assert.equal(signed.memory().sum(), -5n - (1n << 62n) + 3n + (1n << 40n) - 1n);
    // Negatives in every block, the most negative i64 among them.
    using signedMany = BpfMap.create({ kernel, type: 'array', key: u32, value: i64, maxEntries: many, flags: ['mmapable'] });
    const sv = signedMany.memory().view as BigInt64Array;
    sv.fill(-1n);
    sv[0] = -(1n << 63n);
    sv[many - 1] = (1n << 63n) - 1n;
    assert.equal(signedMany.memory().sum(), -BigInt(many - 2) - (1n << 63n) + (1n << 63n) - 1n);
    using small = BpfMap.create({ kernel, type: 'array', key: u32, value: u32, maxEntries: 4, flags: ['mmapable'] });
    small.set(0, 0xffffffff);
    small.set(3, 1);
    assert.equal(small.memory().sum(), 0x100000000);
    // 2^21 + 2 values of 2^32 - 1: the total passes 2^53.
    using wide = BpfMap.create({ kernel, type: 'array', key: u32, value: u32, maxEntries: 2 ** 21 + 2, flags: ['mmapable'] });
    (wide.memory().view as Uint32Array).fill(0xffffffff);
    assert.throws(() => wide.memory().sum(), RangeError);
    using odd = BpfMap.create({ kernel, type: 'array', key: u32, value: bytes(3), maxEntries: 4, flags: ['mmapable'] });
    assert.throws(() => odd.memory().sum(), TypeError);
  });
}

// Closing handles must not detach a buffer (test/helpers/detach.ts says why), on either kernel.
for (const K of testKernels()) {
  test(`closing handles of a mapped array on ${K.name}: stale views read zeros, the other handle keeps the values, nothing is detached`, (t) => {
    if (!K.available(t)) return;
    const index = new URL('../../src/index.js', import.meta.url).href;
    assertNoDetach(`
      const { BpfMap, EmulatedKernel, u32, u64 } = await import(${JSON.stringify(index)});
      const kernel = ${K.name === 'emulated' ? 'new EmulatedKernel()' : 'undefined'};
      const a = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 8, flags: ['mmapable'] });
      const b = a.clone();
      const stale = a.memory().view;
      b.memory();
      a.memory().set(2, 5n);
      a.close();
      if (stale[2] !== 0n) throw new Error('a view of a closed handle still reads the map: ' + stale[2]);
      if (b.memory().get(2) !== 5n || b.get(2) !== 5n) throw new Error('the other handle lost the value');
      b.close();
    `);
  });
}
