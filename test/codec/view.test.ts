import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cstring } from '../../src/codec/cstring.js';
import { f64 } from '../../src/codec/float.js';
import { be16, u32, u64 } from '../../src/codec/int.js';
import { typedView } from '../../src/codec/view.js';
import { BpfMap } from '../../src/map/map.js';
import { linuxAvailable } from '../helpers/kernel.js';

describe('typedView', () => {
  test('a zero-copy view over packed values', () => {
    const buf = Buffer.alloc(3 * 8);
    [1.5, -2, 1e300].forEach((v, i) => f64.encode(v, buf, i * 8));
    const view = typedView(f64, buf);
    assert.ok(view instanceof Float64Array);
    assert.deepEqual(Array.from(view), [1.5, -2, 1e300]);
    view[1] = 7;
    assert.equal(f64.decode(buf, 8), 7, 'the view shares the buffer');
  });

  test('undefined without an element type or alignment; a RangeError for a ragged buffer', () => {
    assert.equal(typedView(cstring(4), Buffer.alloc(8)), undefined);
    assert.equal(typedView(be16, Buffer.alloc(8)), undefined);
    assert.equal(typedView(u32, Buffer.alloc(12).subarray(2, 10)), undefined);
    assert.throws(() => typedView(u32, Buffer.alloc(6)), RangeError);
  });

  test('over a dump of a real map: keys and values read as with get()', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: 64 });
    for (let k = 0; k < 50; k++) m.set(k * 7, BigInt(k) * 2n ** 40n);
    const d = m.dump();
    const keys = typedView(u32, d.keys);
    const values = typedView(u64, d.values);
    assert.ok(keys instanceof Uint32Array && values instanceof BigUint64Array);
    assert.equal(keys.length, 50);
    for (let i = 0; i < keys.length; i++) assert.equal(values[i], m.get(keys[i] as number));
    assert.deepEqual([...keys].sort((a, b) => a - b), Array.from({ length: 50 }, (_, k) => k * 7));
  });
});
