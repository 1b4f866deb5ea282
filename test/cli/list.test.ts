import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runCli } from '../helpers/cli.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';

describe('bpfmap list', () => {
  test('lists a map with its id, type, name, sizes, max entries and flags, as a table and as JSON', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'lru_hash', keySize: 12, valueSize: 20, maxEntries: 333, name: 'cli_list', flags: ['zero_seed'] });
    const [table, json] = await Promise.all([runCli(['list']), runCli(['list', '--json'])]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0] as string, /^ +ID +TYPE +NAME +KEY +VALUE +MAX_ENTRIES +FLAGS$/);
    const row = table.stdout.split('\n').find((l) => l.trim().startsWith(`${map.id} `));
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
