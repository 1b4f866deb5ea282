import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocOutput, allocSharedOutput, transparentHugePageSize } from '../../src/sys/huge.js';
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

test('allocSharedOutput gives zeroed shared memory with room from its offset, huge-page aligned when large', (t) => {
  const huge = transparentHugePageSize();
  for (const bytes of [0, 12, 3 << 20]) {
    const { buffer, offset } = allocSharedOutput(bytes);
    assert.ok(buffer instanceof SharedArrayBuffer);
    assert.ok(offset >= 0 && offset + bytes <= buffer.byteLength, `offset ${offset} + ${bytes} in ${buffer.byteLength}`);
    assert.equal(offset % 8, 0);
    const b = Buffer.from(buffer, offset, bytes);
    assert.equal(
      b.every((x) => x === 0),
      true,
    );
  }
  if (!linuxAvailable(t) || huge === 0) return;
  const advise = nativeHugePages();
  assert.ok(advise, 'the addon has hugePages');
  const { buffer, offset } = allocSharedOutput(2 * huge);
  assert.equal(advise(Buffer.from(buffer, offset), huge), 0, 'the output starts on a huge page');
});
