import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { array } from '../../src/codec/array.js';
import { CodecError } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';
import { u16, u64 } from '../../src/codec/int.js';
import { cLayouts } from '../helpers/layout.js';

describe('array', () => {
  test('elements back to back, aligned as one element, as in C', () => {
    const a = array(u16, 3);
    const ref = cLayouts('struct h { uint8_t pad; uint16_t a[3]; uint8_t b; };', { 'struct h': ['a', 'b'] });
    assert.equal(a.size, 6);
    assert.equal(a.align, 2);
    assert.equal(ref['struct h']?.offsets.a, 2, 'C aligns the array as its element');
    const buf = Buffer.alloc(8, 0xee);
    a.encode([1, 0x0203, 0xffff], buf, 1);
    assert.equal(buf.toString('hex'), 'ee' + '0100' + '0302' + 'ffff' + 'ee');
    assert.deepEqual(a.decode(buf, 1), [1, 0x0203, 0xffff]);
    assert.equal(array(cstring(4), 2).name, 'char[4][2]');
  });

  test('refuses the wrong length and names the bad index', () => {
    const a = array(u16, 2);
    const buf = Buffer.alloc(4);
    assert.throws(() => a.encode([1], buf, 0), { message: 'u16[2]: expected an array of 2 values, got an array of 1' });
    assert.throws(() => a.encode([1, 70000], buf, 0), { message: '[1]: expected an integer 0..65535, got 70000' });
    assert.throws(() => a.encode('ab' as unknown as number[], buf, 0), CodecError);
    assert.throws(() => a.fromJSON?.([1, 2, 3]), CodecError);
    assert.throws(() => array(u16, -1), RangeError);
  });

  test('JSON arrays round-trip exactly; add is element-wise', () => {
    const a = array(u64, 3);
    const v = [0n, 2n ** 60n, 2n ** 64n - 1n];
    const json = JSON.parse(JSON.stringify(a.toJSON?.(v)));
    assert.deepEqual(json, [0, '1152921504606846976', '18446744073709551615']);
    assert.deepEqual(a.fromJSON?.(json), v);
    assert.deepEqual(a.add?.([1n, 2n, 3n], [10n, 20n, 30n]), [11n, 22n, 33n]);
    assert.equal(array(cstring(4), 2).add, undefined);
  });
});
