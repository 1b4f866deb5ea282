import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';

describe('bpfmap list', () => {
  test('lists a map with its id, type, name, sizes, max entries and flags, as a table and as JSON', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'lru_hash', keySize: 12, valueSize: 20, maxEntries: 333, name: 'cli_list', flags: ['zero_seed'] });
    const [table, json] = await Promise.all([runMain(['list']), runMain(['list', '--json'])]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, '', 'the real kernel answers: nothing to say');
    const [header, ...rows] = table.stdout.trimEnd().split('\n') as [string, ...string[]];
    assert.deepEqual(header.trim().split(/ +/), ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX_ENTRIES', 'FLAGS']);
    // Ids are right-aligned under the header, however many digits the machine's ids have
    // (columns.test.ts checks the alignment itself with fixed rows).
    const idEnd = header.indexOf('ID') + 2;
    for (const r of rows) assert.match(r.slice(0, idEnd + 1), /^ *[0-9]+ $/, `the id ends where the header's ID does: "${r}"`);
    const row = rows.find((l) => l.trim().startsWith(`${map.id} `));
    assert.ok(row, `a row for map ${map.id}`);
    assert.deepEqual(row.trim().split(/ +/), [String(map.id), 'lru_hash', 'cli_list', '12', '20', '333', 'zero_seed']);
    const all = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const mine = all.find((m) => m.id === map.id);
    assert.deepEqual(
      { type: mine?.type, name: mine?.name, keySize: mine?.keySize, valueSize: mine?.valueSize, maxEntries: mine?.maxEntries, flagNames: mine?.flagNames },
      { type: 'lru_hash', name: 'cli_list', keySize: 12, valueSize: 20, maxEntries: 333, flagNames: ['zero_seed'] },
    );
  });
});
