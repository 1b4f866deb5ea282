import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodecError } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';

describe('cstring', () => {
  test('encodes up to size-1 bytes and zero-fills the rest', () => {
    const c = cstring(6);
    assert.equal(c.name, 'char[6]');
    const buf = Buffer.alloc(8, 0xee);
    c.encode('ab', buf, 1);
    assert.deepEqual([...buf], [0xee, 0x61, 0x62, 0, 0, 0, 0, 0xee]);
    c.encode('abcde', buf, 1);
    assert.deepEqual([...buf], [0xee, 0x61, 0x62, 0x63, 0x64, 0x65, 0, 0xee]);
    assert.equal(c.decode(buf, 1), 'abcde');
    c.encode('', buf, 1);
    assert.equal(c.decode(buf, 1), '');
  });

  test('decode stops at the first NUL, or at the end without one', () => {
    const c = cstring(4);
    assert.equal(c.decode(Buffer.from([0x61, 0, 0x62, 0x63, 0x64]), 0), 'a');
    assert.equal(c.decode(Buffer.from([0x61, 0x62, 0x63, 0x64, 0x65]), 0), 'abcd');
    assert.equal(c.decode(Buffer.from([0x61, 0x62, 0x63, 0x64, 0x65]), 1), 'bcde');
    assert.throws(() => c.decode(Buffer.alloc(4), 1), RangeError);
  });

  test('counts UTF-8 bytes, not characters, and round-trips them', () => {
    const c = cstring(5);
    const buf = Buffer.alloc(5, 0xee);
    assert.throws(() => c.encode('é€', buf, 0), { message: 'char[5]: expected at most 4 UTF-8 bytes (one is kept for the NUL), got 5: "é€"' });
    assert.deepEqual(buf, Buffer.alloc(5, 0xee), 'nothing written');
    c.encode('é€'.slice(0, 1) + 'ab', buf, 0);
    assert.equal(c.decode(buf, 0), 'éab');
    assert.equal(c.fromJSON?.(c.toJSON?.('éab')), 'éab');
  });

  test('refuses non-strings, embedded NULs, and sizes below 1', () => {
    const c = cstring(8);
    for (const v of [1, null, undefined, Buffer.from('a')]) assert.throws(() => c.encode(v as unknown as string, Buffer.alloc(8), 0), CodecError);
    assert.throws(() => c.encode('a\0b', Buffer.alloc(8), 0), /contains a NUL/);
    assert.throws(() => c.fromJSON?.('123456789'), CodecError);
    assert.throws(() => c.encode('a', Buffer.alloc(8), 1), RangeError);
    assert.throws(() => cstring(0), RangeError);
  });
});
