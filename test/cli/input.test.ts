import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { maxLineFor, readEntries, type InputEntry } from '../../src/cli/input.js';

/** The entries of input handed over in pieces of size bytes. */
async function read(input: string, size: number, maxLine = 1 << 20): Promise<InputEntry[]> {
  const bytes = Buffer.from(input);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  const out: InputEntry[] = [];
  for await (const e of readEntries(Readable.from(pieces), maxLine)) out.push(e);
  return out;
}

describe('readEntries', () => {
  test('lines split across pieces, a character split across pieces, blank lines counted, no final newline', async () => {
    const input = '{"key":"01","value":"é€"}\n\n  \n{"key":"02","value":"x"}\r\n{"key":"03","value":"y"}';
    for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
      const got = await read(input, size);
      assert.deepEqual(got, [
        { where: 'line 1', json: { key: '01', value: 'é€' } },
        { where: 'line 4', json: { key: '02', value: 'x' } },
        { where: 'line 5', json: { key: '03', value: 'y' } },
      ], `pieces of ${size}`);
    }
  });

  test('a JSON array, after blank lines, is read whole', async () => {
    for (const size of [1, 5, 1 << 16]) {
      const got = await read('\n \n[{"key":"01"},\n{"key":"02"}]\n', size);
      assert.deepEqual(got.map((e) => e.where), ['entry 1', 'entry 2'], `pieces of ${size}`);
    }
  });

  test('a line of maxLine bytes is read; one byte more is an error naming the line, with or without its newline', async () => {
    const line = (n: number): string => `{"key":"${'a'.repeat(n - 10)}"}`; // n bytes
    assert.equal(line(100).length, 100);
    for (const size of [1, 13, 1 << 16]) {
      assert.equal((await read(`${line(100)}\n${line(100)}\n`, size, 100)).length, 2);
      await assert.rejects(read(`${line(100)}\n${line(101)}\n`, size, 100), { name: 'InputError', message: /^line 2: longer than 100 bytes, / });
      await assert.rejects(read(`${line(100)}\n\n${line(101)}`, size, 100), { name: 'InputError', message: /^line 3: longer than 100 bytes, / });
    }
  });

  test('bad JSON names its line', async () => {
    await assert.rejects(read('{"key":"01"}\n{"key":\n', 4), { name: 'InputError', message: /^line 2: bad JSON: / });
  });

  test('the line limit: 1 MiB, or 64 bytes per byte of key and value when more', () => {
    assert.equal(maxLineFor(4, 8), 1 << 20);
    assert.equal(maxLineFor(4, 1 << 20), 64 * (4 + (1 << 20)));
  });
});
