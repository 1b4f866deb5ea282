import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { u32, u64 } from '../../src/codec/int.js';
import { BatchReader } from '../../src/export/source.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import { errno } from '../../src/sys/errno.js';
import { testKernels } from '../helpers/kernel.js';

interface Call {
  count: number;
  outBatch: Buffer;
}
type Answer = (call: Call, n: number) => { count: number; done: boolean };

/**
 * The kernel with LOOKUP_BATCH and LOOKUP_AND_DELETE_BATCH answered by `answer` (after the
 * support probe with count 0, which goes to the real kernel). Stops a runaway walk at 10000 calls
 * so a test of a walk that would never end fails instead of hanging.
 */
function faking(real: Kernel, answer: Answer): { kernel: Kernel; calls: Call[] } {
  const calls: Call[] = [];
  const fake = (fd: number, args: Call & object, orig: (fd: number, args: never) => { count: number; done: boolean }) => {
    if (args.count === 0) return orig(fd, args as never);
    calls.push({ count: args.count, outBatch: args.outBatch });
    if (calls.length > 10000) throw new Error('runaway walk: 10000 calls');
    return answer(args, calls.length);
  };
  const kernel = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'lookupBatch' || prop === 'lookupAndDeleteBatch') {
        const orig = (Reflect.get(target, prop, receiver) as (fd: number, args: never) => { count: number; done: boolean }).bind(target);
        return (fd: number, args: Call) => fake(fd, args, orig);
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { kernel, calls };
}

/** Every batch walk there is: entries(), dump(), drain() and the exporter's read. */
const walks: Array<[string, (m: BpfMap<number, bigint>) => unknown]> = [
  ['entries()', (m) => [...m.entries({ batchSize: 2 })]],
  ['dump()', (m) => m.dump({ batchSize: 2 })],
  ['drain()', (m) => m.drain({ batchSize: 2 })],
  ['the exporter', (m) => new BatchReader(2).read(m as unknown as BpfMap, () => {})],
];

for (const K of testKernels()) {
  describe(`the batch walk on ${K.name}`, () => {
    test('ENOSPC grows the batch by doubling up to max_entries, then is the error, in every walk', async (t) => {
      if (!K.available(t)) return;
      for (const [name, walk] of walks) {
        const fake = faking(K.kernel(), () => {
          throw new BpfError(0, errno.ENOSPC);
        });
        using m = BpfMap.create({ kernel: fake.kernel, type: 'hash', key: u32, value: u64, maxEntries: 20 });
        await assert.rejects(async () => walk(m), (e: unknown) => e instanceof BpfError && e.code === 'ENOSPC', name);
        assert.deepEqual(fake.calls.map((c) => c.count), [2, 4, 8, 16, 20], `${name}: the batches asked for`);
      }
    });

    test('a call that neither ends the walk nor moves the cursor stops it, in every walk', async (t) => {
      if (!K.available(t)) return;
      for (const [name, walk] of walks) {
        const fake = faking(K.kernel(), (call) => {
          call.outBatch.fill(7);
          return { count: 1, done: false };
        });
        using m = BpfMap.create({ kernel: fake.kernel, type: 'hash', key: u32, value: u64, maxEntries: 20 });
        await assert.rejects(async () => walk(m), /the batch walk stopped advancing/, name);
        assert.equal(fake.calls.length, 2, `${name}: the second call, back at the same cursor, is the last`);
      }
    });

    test('a call that returns nothing without ending the walk stops it', async (t) => {
      if (!K.available(t)) return;
      const fake = faking(K.kernel(), () => ({ count: 0, done: false }));
      using m = BpfMap.create({ kernel: fake.kernel, type: 'hash', key: u32, value: u64, maxEntries: 20 });
      assert.throws(() => m.dump(), /the batch walk stopped advancing \(a call returned 0 entries/);
      assert.equal(fake.calls.length, 1);
    });
  });
}
