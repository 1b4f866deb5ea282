import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { pinsByMapId } from '../../src/map/pins.js';
import { pinPath, testKernels } from '../helpers/kernel.js';

for (const k of testKernels()) {
  describe(`pins (${k.name})`, () => {
    test('map.pins() finds every path the map is pinned at, and nothing once unpinned', (t) => {
      if (!k.available(t)) return;
      const kernel = k.kernel();
      using map = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      using other = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      const [a, b, c] = [pinPath('pins'), pinPath('pins'), pinPath('pins')] as [string, string, string];
      t.after(() => [a, b, c].forEach((p) => kernel.unpin(p)));
      assert.deepEqual(map.pins(), []);
      map.pin(a);
      map.pin(b);
      other.pin(c);
      assert.deepEqual(map.pins(), [a, b].sort());
      assert.deepEqual(pinsByMapId(kernel).get(other.id), [c]);
      kernel.unpin(a);
      assert.deepEqual(map.pins(), [b]);
    });
  });
}
