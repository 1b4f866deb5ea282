import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hexLines } from '../../src/cli/hex-lines.js';

test('hexLines: the ndjson bytes of each entry, as JSON.stringify would write them', () => {
  for (const [ks, vs, count] of [[4, 8, 1000], [1, 1, 3], [16, 40, 17], [4, 0, 2], [8, 8, 0]] as const) {
    const keys = randomBytes(ks * count + 5);
    const values = randomBytes(vs * count + 5);
    const text = hexLines(keys, values, count, ks, vs).toString('latin1');
    const want = Array.from({ length: count }, (_, i) =>
      `${JSON.stringify({ key: keys.toString('hex', i * ks, (i + 1) * ks), value: values.toString('hex', i * vs, (i + 1) * vs) })}\n`).join('');
    assert.equal(text, want, `${ks}/${vs} x ${count}`);
  }
});
