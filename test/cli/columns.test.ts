import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignColumns } from '../../src/cli/columns.js';

const HEADER = ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX_ENTRIES', 'FLAGS'];

test('alignColumns: numbers right-aligned under their header, text left-aligned, the last column unpadded', () => {
  // Ids of one and of three digits: the ID header sits flush left only while no id is wider than it.
  assert.equal(alignColumns([['1', 'hash', 'a', '4', '8', '16', '-'], ['7', 'array', 'bb', '4', '8', '1', 'rdonly']], HEADER), [
    'ID  TYPE   NAME  KEY  VALUE  MAX_ENTRIES  FLAGS',
    ' 1  hash   a       4      8           16  -',
    ' 7  array  bb      4      8            1  rdonly',
    '',
  ].join('\n'));
  assert.equal(alignColumns([['123', 'hash', 'a', '4', '8', '16', '-'], ['9', 'lru_hash', '-', '12', '20', '333', 'zero_seed']], HEADER), [
    ' ID  TYPE      NAME  KEY  VALUE  MAX_ENTRIES  FLAGS',
    '123  hash      a       4      8           16  -',
    '  9  lru_hash  -      12     20          333  zero_seed',
    '',
  ].join('\n'));
});

test('alignColumns: a column with a non-number is text; no rows leaves the header alone', () => {
  assert.equal(alignColumns([['1,000', '5%'], ['x', '10%']], ['A', 'B']), 'A        B\n1,000   5%\nx      10%\n');
  assert.equal(alignColumns([], HEADER), 'ID  TYPE  NAME  KEY  VALUE  MAX_ENTRIES  FLAGS\n');
  assert.equal(alignColumns([['a', 'b']]), 'a  b\n');
});
