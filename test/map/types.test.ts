import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { mapNameProblem } from '../../src/map/types.js';
import { testKernels } from '../helpers/kernel.js';

test('mapNameProblem: at most 15 characters of [A-Za-z0-9_.]', () => {
  for (const ok of ['', 'flows', 'a.b_C9', 'x'.repeat(15)]) assert.equal(mapNameProblem(ok), undefined, ok);
  assert.match(mapNameProblem('bad-name!') ?? '', /may hold only letters, digits, "_" and "\." .*"bad-name!"/);
  assert.match(mapNameProblem('x'.repeat(16)) ?? '', /at most 15 characters .* got 16/);
  assert.match(mapNameProblem('flöws') ?? '', /may hold only/);
  assert.match(mapNameProblem(7) ?? '', /must be a string, got number/);
});

for (const k of testKernels()) {
  test(`create refuses a bad name before any syscall, on the ${k.name} kernel (no generic EINVAL, no name cut short)`, (t) => {
    if (!k.available(t)) return;
    const kernel = k.kernel();
    const base = { kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 } as const;
    assert.throws(() => BpfMap.create({ ...base, name: 'bad-name!' }), {
      name: 'TypeError',
      message: 'create: name may hold only letters, digits, "_" and "." ([A-Za-z0-9_.]), got "bad-name!"',
    });
    // The attr holds 15 bytes and a NUL: a longer name would be cut, never refused by the kernel.
    assert.throws(() => BpfMap.create({ ...base, name: 'sixteen_chars_xx' }), /create: name is at most 15 characters/);
    using m = BpfMap.create({ ...base, name: 'fifteen_chars_x' });
    assert.equal(m.name, 'fifteen_chars_x');
  });
}
