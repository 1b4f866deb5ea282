import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocOutput, transparentHugePageSize } from '../../src/sys/huge.js';
import { nativeHugePages } from '../../src/sys/native.js';
import { linuxAvailable } from '../helpers/kernel.js';

test('allocOutput gives exactly the bytes asked, 8-byte aligned for typed views, small or huge', () => {
  const huge = transparentHugePageSize();
  for (const bytes of [0, 1, 4096, 3 << 20, (huge || 2 << 20) * 2 + 12]) {
    const b = allocOutput(bytes);
    assert.equal(b.length, bytes);
    assert.equal(b.byteOffset % 8, 0);
    b.fill(7);
    assert.equal(bytes === 0 || b[bytes - 1] === 7, true);
  }
});

test('hugePages advises a buffer and returns the offset of its first aligned byte; bad arguments are refused', (t) => {
  if (!linuxAvailable(t)) return;
  const advise = nativeHugePages();
  assert.ok(advise, 'the addon has hugePages');
  const align = 2 << 20;
  const b = Buffer.allocUnsafe(3 * align);
  const off = advise(b, align);
  assert.ok(off >= 0 && off < align, `offset ${off}`);
  // Two calls on views one byte apart: the aligned byte is the same one.
  assert.equal(advise(b.subarray(1), align), off === 0 ? align - 1 : off - 1);
  assert.equal(advise(Buffer.alloc(0), align) >= 0, true, 'an empty buffer advises nothing');
  assert.throws(() => advise(b, 3 * 4096), RangeError, 'align not a power of two');
  assert.throws(() => advise(b, 16), RangeError, 'align below the page size');
  assert.throws(() => advise(new Uint32Array(4) as unknown as Uint8Array, align), TypeError);
});
