import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodecError } from '../../src/codec/codec.js';
import { f32, f64 } from '../../src/codec/float.js';

const roundTripJSON = (c: typeof f32, v: number) => c.fromJSON?.(JSON.parse(JSON.stringify(c.toJSON?.(v))));

describe('floats', () => {
  test('f64: values, specials and -0 round-trip bit-exactly through bytes and JSON', () => {
    for (const v of [0, -0, 1.5, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN, 0.1]) {
      const buf = Buffer.alloc(10);
      f64.encode(v, buf, 2);
      const ref = Buffer.alloc(8);
      new DataView(ref.buffer).setFloat64(0, v, true);
      assert.deepEqual(buf.subarray(2), ref);
      assert.ok(Object.is(f64.decode(buf, 2), v), `decode ${v}`);
      assert.ok(Object.is(roundTripJSON(f64, v), v), `JSON ${v}`);
    }
    assert.equal(f64.toJSON?.(-0), '-0');
    assert.equal(f64.toJSON?.(NaN), 'NaN');
  });

  test('f32: rounds to the nearest float32, keeps specials, refuses finite values beyond its range', () => {
    const buf = Buffer.alloc(4);
    f32.encode(0.1, buf, 0);
    assert.equal(f32.decode(buf, 0), Math.fround(0.1));
    for (const v of [Infinity, -Infinity, -0, 3.4028234663852886e38]) {
      f32.encode(v, buf, 0);
      assert.ok(Object.is(f32.decode(buf, 0), v));
      assert.ok(Object.is(roundTripJSON(f32, v), v));
    }
    const before = Buffer.from(buf);
    assert.throws(() => f32.encode(1e39, buf, 0), /f32: 1e\+39 is beyond the range of a 32-bit float/);
    assert.deepEqual(buf, before);
    assert.throws(() => f32.fromJSON?.(-1e39), CodecError);
  });

  test('refuses non-numbers, in encode and in JSON', () => {
    for (const c of [f32, f64]) {
      for (const v of ['1', 1n, null, undefined, {}]) assert.throws(() => c.encode(v as number, Buffer.alloc(8), 0), CodecError);
      for (const j of ['1', 'nan', 'inf', null, true]) assert.throws(() => c.fromJSON?.(j), CodecError);
    }
  });

  test('views and sums', () => {
    assert.equal(f32.typedArray, 'Float32Array');
    assert.equal(f64.typedArray, 'Float64Array');
    const buf = Buffer.alloc(16);
    f64.encode(1.25, buf, 0);
    f64.encode(-2.5, buf, 8);
    assert.deepEqual(Array.from(new Float64Array(buf.buffer, buf.byteOffset, 2)), [1.25, -2.5]);
    assert.equal(f64.add?.(1.25, -2.5), -1.25);
  });
});
