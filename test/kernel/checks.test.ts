// The argument checks both kernels share: the same bad buffer or flag fails the same way on each.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH } from '../../src/sys/constants.js';
import { testKernels, u32, u64 } from '../helpers/kernel.js';

const NOT_BYTES: Array<[string, unknown]> = [
  ['Uint16Array', new Uint16Array(8)],
  ['Uint32Array', new Uint32Array(4)],
  ['Uint8ClampedArray', new Uint8ClampedArray(16)],
  ['DataView', new DataView(new ArrayBuffer(16))],
  ['array-like', { length: 16 }],
  ['array', new Array(16).fill(0)],
  ['string', 'x'.repeat(16)],
];

function withMap(kernel: Kernel, type: number, body: (fd: number) => void): void {
  const fd = kernel.mapCreate({ mapType: type, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: 0 });
  try {
    body(fd);
  } finally {
    kernel.close(fd);
  }
}

for (const K of testKernels()) {
  describe(`shared argument checks on ${K.name}`, () => {
    test('a key or value that is not a Uint8Array is a TypeError, and nothing is stored', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      withMap(k, BPF_MAP_TYPE_HASH, (fd) => {
        for (const [what, bad] of NOT_BYTES) {
          const b = bad as Uint8Array;
          assert.throws(() => k.update(fd, u32(1), b, 0), TypeError, `update value ${what}`);
          assert.throws(() => k.update(fd, b, u64(1), 0), TypeError, `update key ${what}`);
          assert.throws(() => k.lookup(fd, u32(1), b, 0), TypeError, `lookup value ${what}`);
          assert.throws(() => k.lookup(fd, b, Buffer.alloc(8), 0), TypeError, `lookup key ${what}`);
          assert.throws(() => k.delete(fd, b), TypeError, `delete key ${what}`);
          assert.throws(() => k.nextKey(fd, b, Buffer.alloc(4)), TypeError, `nextKey key ${what}`);
          assert.throws(() => k.nextKey(fd, null, b), TypeError, `nextKey next ${what}`);
          assert.throws(() => k.lookupAndDelete(fd, u32(1), b, 0), TypeError, `lookupAndDelete value ${what}`);
          assert.throws(() => k.updateBatch(fd, { keys: u32(1), values: b, count: 1, elemFlags: 0, flags: 0 }), TypeError, `updateBatch values ${what}`);
          assert.throws(() => k.lookupBatch(fd, { inBatch: null, outBatch: b, keys: Buffer.alloc(32), values: Buffer.alloc(64), count: 8, elemFlags: 0, flags: 0 }), TypeError, `lookupBatch cursor ${what}`);
        }
        assert.equal(k.nextKey(fd, null, Buffer.alloc(4)), false, 'no element was stored');
      });
    });

    test('a short buffer is a RangeError that says how many bytes the kernel needs', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      withMap(k, BPF_MAP_TYPE_PERCPU_HASH, (fd) => {
        const need = 8 * k.possibleCpus();
        assert.throws(() => k.update(fd, u32(1), Buffer.alloc(need - 1), 0), { name: 'RangeError', message: new RegExp(`value must hold ${need} bytes, got ${need - 1}`) });
        assert.throws(() => k.lookup(fd, u32(1), Buffer.alloc(8), 0), RangeError);
        assert.throws(() => k.update(fd, Buffer.alloc(3), Buffer.alloc(need), 0), /key must hold 4 bytes, got 3/);
      });
    });

    test('element flags: not a u64 is a RangeError, unknown bits the kernel\'s EINVAL', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      withMap(k, BPF_MAP_TYPE_HASH, (fd) => {
        for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, 2 ** 80]) {
          assert.throws(() => k.update(fd, u32(1), u64(1), bad), RangeError, `update ${bad}`);
          assert.throws(() => k.lookup(fd, u32(1), Buffer.alloc(8), bad), RangeError, `lookup ${bad}`);
          assert.throws(() => k.lookupAndDelete(fd, u32(1), Buffer.alloc(8), bad), RangeError, `lookupAndDelete ${bad}`);
        }
        assert.throws(() => k.update(fd, u32(1), u64(1), '1' as unknown as number), TypeError);
        const einval = (e: unknown): boolean => e instanceof BpfError && e.code === 'EINVAL';
        for (const bits of [8, 16, 2 ** 32, 2 ** 32 + 1, 2 ** 63]) assert.throws(() => k.update(fd, u32(1), u64(1), bits), einval, `update ${bits}`);
        for (const bits of [1, 2, 8, 2 ** 40]) {
          assert.throws(() => k.lookup(fd, u32(1), Buffer.alloc(8), bits), einval, `lookup ${bits}`);
          assert.throws(() => k.lookupAndDelete(fd, u32(1), Buffer.alloc(8), bits), einval, `lookupAndDelete ${bits}`);
        }
        k.update(fd, u32(1), u64(5), 1);
        const v = Buffer.alloc(8);
        assert.equal(k.lookup(fd, u32(1), v, 0), true);
        assert.equal(v.readBigUInt64LE(0), 5n);
      });
    });
  });
}
