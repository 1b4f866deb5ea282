import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_MAP_TYPE_HASH } from '../../src/sys/constants.js';
import { sysMapLookupElem, sysMapUpdateElem } from '../../src/sys/map-elem.js';
import { linuxAvailable, u32, u64 } from '../helpers/kernel.js';

const hash = { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 };

test('a flags value that cannot be written leaves later element calls on other maps working', (t) => {
  if (!linuxAvailable(t)) return;
  const k = new LinuxKernel();
  const a = k.mapCreate(hash);
  const b = k.mapCreate(hash);
  try {
    const v = Buffer.alloc(8);
    for (const bad of [-1, 2 ** 64, 2 ** 70, 1.5, Number.NaN]) {
      // Straight at the sys layer, which writes the shared attr: refused before any byte of it.
      assert.throws(() => sysMapUpdateElem(a, u32(1), 4, u64(1), 8, bad), RangeError, String(bad));
      assert.throws(() => sysMapLookupElem(a, u32(1), 4, v, 8, bad), RangeError, String(bad));
      k.update(b, u32(2), u64(7), 0);
      assert.equal(sysMapLookupElem(b, u32(2), 4, v, 8, 0), 0, `a correct lookup after flags ${bad}`);
      assert.equal(v.readBigUInt64LE(0), 7n);
    }
    // The largest u64 flags a Number holds exactly reach the kernel (which refuses them), and the next call is clean.
    assert.ok(sysMapUpdateElem(a, u32(1), 4, u64(1), 8, 2 ** 63) < 0);
    assert.equal(sysMapUpdateElem(a, u32(1), 4, u64(1), 8, 0), 0);
  } finally {
    k.close(a);
    k.close(b);
  }
});
