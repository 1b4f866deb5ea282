import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytes } from '../../src/codec/bytes.js';
import { CodecError } from '../../src/codec/codec.js';

describe('bytes', () => {
  test('round-trips exactly, and decode returns a copy', () => {
    const c = bytes(4);
    assert.equal(c.size, 4);
    assert.equal(c.align, 1);
    const buf = Buffer.alloc(6);
    c.encode(Buffer.from([1, 2, 3, 0xff]), buf, 2);
    const v = c.decode(buf, 2);
    assert.deepEqual([...v], [1, 2, 3, 0xff]);
    buf[2] = 9;
    assert.equal(v[0], 1, 'the decoded value does not alias the buffer');
    c.encode(new Uint8Array([4, 5, 6, 7]) as Buffer, buf, 0);
    assert.deepEqual([...buf.subarray(0, 4)], [4, 5, 6, 7]);
  });

  test('JSON is lowercase hex, read back exactly; bad hex is refused', () => {
    const c = bytes(3);
    const v = Buffer.from([0xab, 0x00, 0x1f]);
    assert.equal(c.toJSON?.(v), 'ab001f');
    assert.deepEqual(c.fromJSON?.('AB001F'), v);
    for (const j of ['ab00', 'ab001f00', 'zz001f', 'ab0 1f', 0xab001f, null, [1, 2, 3]])
      assert.throws(() => c.fromJSON?.(j), (e: unknown) => e instanceof CodecError && /expected a hex string of 3 bytes/.test(e.message));
  });

  test('refuses a wrong length or type, and a decode past the buffer', () => {
    const c = bytes(4);
    const buf = Buffer.alloc(4, 0xee);
    assert.throws(() => c.encode(Buffer.alloc(3), buf, 0), { message: '4 bytes: expected 4 bytes, got 3' });
    assert.throws(() => c.encode('abcd' as unknown as Buffer, buf, 0), CodecError);
    assert.deepEqual(buf, Buffer.alloc(4, 0xee));
    assert.throws(() => c.decode(buf, 1), RangeError);
    assert.throws(() => bytes(-1), RangeError);
    assert.throws(() => bytes(1.5), RangeError);
  });
});
