import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Growable } from '../../src/map/dump.js';
import { testKernels } from '../helpers/kernel.js';
import { closeFixture, entryText, fixture, ITERABLE_TYPES } from '../helpers/maps.js';

for (const K of testKernels()) {
  describe(`dump on ${K.name}`, () => {
    test('columnar dump holds every entry, packed at the map sizes, in both modes', (t) => {
      if (!K.available(t)) return;
      for (const type of ITERABLE_TYPES) {
        const f = fixture(K.kernel(), type);
        try {
          for (const mode of ['batch', 'per-element'] as const) {
            const d = f.map.dump({ mode, batchSize: 5 });
            assert.equal(d.mode, mode);
            assert.equal(d.count, f.expected.size, `${type} ${mode}`);
            assert.equal(d.keys.length, d.count * f.map.keySize);
            assert.equal(d.values.length, d.count * f.map.valueBytes);
            const texts = Array.from({ length: d.count }, (_, i) => entryText(d.key(i), d.value(i)));
            assert.deepEqual(new Set(texts), f.expected, `${type} ${mode}`);
            assert.throws(() => d.key(d.count), RangeError);
            assert.throws(() => d.value(-1), RangeError);
          }
        } finally {
          closeFixture(f);
        }
      }
    });

    test('a crowded bucket with batchSize 1 still dumps everything', (t) => {
      if (!K.available(t)) return;
      const f = fixture(K.kernel(), 'hash', 40);
      try {
        assert.equal(f.map.dump({ batchSize: 1 }).count, 40);
      } finally {
        closeFixture(f);
      }
    });
  });
}

describe('dump buffers', () => {
  test('grow by doubling and keep what they hold', () => {
    const g = new Growable(4, 8, 2);
    g.keys.writeUInt32LE(7, 0);
    g.values.writeUInt32LE(9, 0);
    g.n = 1;
    g.reserve(1);
    assert.equal(g.keys.length, 8, 'fits without growing');
    g.reserve(10);
    assert.ok(g.keys.length >= 11 * 4 && g.values.length >= 11 * 8);
    assert.equal(g.keys.readUInt32LE(0), 7);
    assert.equal(g.values.readUInt32LE(0), 9);
  });
});
