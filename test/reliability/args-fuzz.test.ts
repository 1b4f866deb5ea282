// Random flags, buffers, sizes and counts at every element and batch call of both kernels: each
// call either works or throws a typed error, and a correct call on another map still works after.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_QUEUE } from '../../src/sys/constants.js';
import { prng, seeds } from '../helpers/differential.js';
import { testKernels, u32, u64 } from '../helpers/kernel.js';
import { int, pick, type Rng } from '../helpers/random-ops.js';

const FLAGS = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -4, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  2 ** 31, 2 ** 32, 2 ** 32 + 4, 2 ** 53, 2 ** 63, 2 ** 64, 2 ** 70, -(2 ** 64), '4', null, undefined, 1n, {}];
const COUNTS = [0, 1, 2, 3, 8, 64, -1, 1.5, Number.NaN, 2 ** 32, 2 ** 32 - 1, '2'];

function buffer(rng: Rng): unknown {
  const n = pick(rng, [0, 1, 3, 4, 7, 8, 16, 64, 512, 4096]);
  switch (int(rng, 0, 9)) {
    case 0: return null;
    case 1: return undefined;
    case 2: return new Uint16Array(n);
    case 3: return new Uint32Array(n);
    case 4: return { length: n };
    case 5: return 'x'.repeat(n);
    case 6: return new DataView(new ArrayBuffer(n));
    case 7: return Buffer.alloc(n, int(rng, 0, 255));
    default: return new Uint8Array(n).fill(int(rng, 0, 255));
  }
}

type Call = (k: Kernel, fd: number, rng: Rng) => unknown;

const batchArgs = (rng: Rng): never => ({ inBatch: buffer(rng), outBatch: buffer(rng), keys: buffer(rng), values: buffer(rng),
  count: pick(rng, COUNTS), elemFlags: pick(rng, FLAGS), flags: pick(rng, FLAGS) }) as never;

const CALLS: Record<string, Call> = {
  lookup: (k, fd, r) => k.lookup(fd, buffer(r) as never, buffer(r) as never, pick(r, FLAGS) as never),
  update: (k, fd, r) => k.update(fd, buffer(r) as never, buffer(r) as never, pick(r, FLAGS) as never),
  delete: (k, fd, r) => k.delete(fd, buffer(r) as never),
  nextKey: (k, fd, r) => k.nextKey(fd, buffer(r) as never, buffer(r) as never),
  lookupAndDelete: (k, fd, r) => k.lookupAndDelete(fd, buffer(r) as never, buffer(r) as never, pick(r, FLAGS) as never),
  lookupBatch: (k, fd, r) => k.lookupBatch(fd, batchArgs(r)),
  lookupAndDeleteBatch: (k, fd, r) => k.lookupAndDeleteBatch(fd, batchArgs(r)),
  updateBatch: (k, fd, r) => k.updateBatch(fd, batchArgs(r)),
  deleteBatch: (k, fd, r) => k.deleteBatch(fd, batchArgs(r)),
};

const TYPES = [BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_QUEUE];

/** A correct update, lookup and walk on the control map, with a value never written before. */
function controlWorks(k: Kernel, fd: number, n: number, what: string): void {
  k.update(fd, u32(n % 8), u64(n), 0);
  const v = Buffer.alloc(8);
  assert.equal(k.lookup(fd, u32(n % 8), v, 0), true, what);
  assert.equal(v.readBigUInt64LE(0), BigInt(n), what);
  assert.equal(k.nextKey(fd, null, Buffer.alloc(4)), true, what);
  const r = k.lookupBatch(fd, { inBatch: null, outBatch: Buffer.alloc(4), keys: Buffer.alloc(32), values: Buffer.alloc(64), count: 8, elemFlags: 0, flags: 0 });
  assert.ok(r.count >= 1, what);
}

for (const K of testKernels()) {
  describe(`argument fuzz on ${K.name}`, () => {
    for (const seed of seeds()) {
      test(`seed ${seed}: every call fails cleanly or works, and leaves the next call on another map working`, (t) => {
        if (!K.available(t)) return;
        const k = K.kernel();
        const rng = prng(seed);
        const control = k.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8, mapFlags: 0 });
        const targets = TYPES.map((mapType) => k.mapCreate({ mapType, keySize: mapType === BPF_MAP_TYPE_QUEUE ? 0 : 4, valueSize: 8, maxEntries: 8, mapFlags: 0 }));
        try {
          for (let i = 1; i <= 400; i++) {
            const name = pick(rng, Object.keys(CALLS));
            const what = `seed ${seed}, call ${i}: ${name}`;
            try {
              (CALLS[name] as Call)(k, pick(rng, targets), rng);
            } catch (e) {
              assert.ok(e instanceof TypeError || e instanceof RangeError || e instanceof BpfError, `${what}: ${String(e)}`);
              // A typed error from our checks, never one from deep inside (a property of a non-buffer used as one).
              assert.doesNotMatch(e.message, /is not a function|Cannot read|is not iterable/, what);
            }
            controlWorks(k, control, i, what);
          }
        } finally {
          for (const fd of [control, ...targets]) k.close(fd);
        }
      });
    }
  });
}
