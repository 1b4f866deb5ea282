import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodecError } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';
import { u32, u64 } from '../../src/codec/int.js';
import { perCpuLayout, sumPerCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';

describe('per-CPU layout', () => {
  test('slots of round_up(size, 8) bytes, padding zeroed and never decoded', () => {
    const c = perCpuLayout(struct({ a: u32, b: u32, c: u32 }), 2);
    assert.equal(c.size, 32);
    const buf = Buffer.alloc(32, 0xff);
    c.encode([{ a: 1, b: 2, c: 3 }, { a: 4, b: 5, c: 6 }], buf, 0);
    assert.deepEqual(buf.subarray(12, 16), Buffer.alloc(4));
    assert.deepEqual(buf.subarray(28, 32), Buffer.alloc(4));
    buf.fill(0xaa, 12, 16);
    assert.deepEqual(c.decode(buf, 0), [{ a: 1, b: 2, c: 3 }, { a: 4, b: 5, c: 6 }]);
  });

  test('JSON is an array per CPU, read back exactly', () => {
    const c = perCpuLayout(u64, 3);
    const v = [1n, 2n ** 64n - 1n, 0n];
    const json = JSON.parse(JSON.stringify(c.toJSON?.(v)));
    assert.deepEqual(json, [1, '18446744073709551615', 0]);
    assert.deepEqual(c.fromJSON?.(json), v);
    assert.throws(() => c.fromJSON?.([1, 2]), (e: unknown) => e instanceof CodecError && /expected an array of 3 values/.test(e.message));
    assert.throws(() => c.fromJSON?.([1, 2, -1]), { message: '[2]: expected an integer 0..18446744073709551615 (a safe integer number or a decimal string), got -1' });
  });

  test('sumPerCpu adds exactly with the codec, and refuses what cannot be added', () => {
    assert.equal(sumPerCpu(u64, [2n ** 64n - 1n, 1n, 2n]), 2n ** 64n + 2n);
    const pair = struct({ packets: u64, bytes: u32 });
    assert.deepEqual(sumPerCpu(pair, [{ packets: 1n, bytes: 10 }, { packets: 2n, bytes: 20 }]), { packets: 3n, bytes: 30 });
    assert.throws(() => sumPerCpu(cstring(4), ['a']), /char\[4\] values cannot be added/);
    assert.throws(() => sumPerCpu(u64, []), TypeError);
  });
});
