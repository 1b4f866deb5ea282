import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { humanBytes } from '../../src/cli/columns.js';
import { u32, u64 } from '../../src/codec/int.js';
import { BpfMap } from '../../src/map/map.js';
import { runCli, runMain } from '../helpers/cli.js';
import { emuStoreDir, LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

const HEADER = ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX_ENTRIES', 'ENTRIES', 'MEMLOCK', 'BTF', 'FLAGS', 'PINNED'];

function rowOf(stdout: string, id: number): string[] {
  const row = stdout.split('\n').find((l) => l.trim().startsWith(`${id} `));
  assert.ok(row, `a row for map ${id} in:\n${stdout}`);
  return row.trim().split(/ +/);
}

describe('bpfmap list', () => {
  test('lists a map with its id, type, name, sizes, max entries, memory and flags, as a table and as JSON', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({
      kernel: LINUX.kernel(),
      type: 'lru_hash',
      keySize: 12,
      valueSize: 20,
      maxEntries: 333,
      name: 'cli_list',
      flags: ['zero_seed'],
    });
    const [table, json] = await Promise.all([runMain(['list']), runMain(['list', '--json'])]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, '', 'the real kernel answers: nothing to say');
    const [header, ...rows] = table.stdout.trimEnd().split('\n') as [string, ...string[]];
    assert.deepEqual(header.trim().split(/ +/), HEADER);
    // Ids are right-aligned under the header, however many digits the machine's ids have
    // (columns.test.ts checks the alignment itself with fixed rows).
    const idEnd = header.indexOf('ID') + 2;
    for (const r of rows) assert.match(r.slice(0, idEnd + 1), /^ *[0-9]+ $/, `the id ends where the header's ID does: "${r}"`);
    const memory = LINUX.kernel().mapMemory(map.fd);
    assert.deepEqual(rowOf(table.stdout, map.id), [
      String(map.id),
      'lru_hash',
      'cli_list',
      '12',
      '20',
      '333',
      '-',
      humanBytes(memory),
      '-',
      'zero_seed',
      '-',
    ]);
    const all = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    const mine = all.find((m) => m.id === map.id);
    assert.deepEqual(
      {
        type: mine?.type,
        name: mine?.name,
        keySize: mine?.keySize,
        valueSize: mine?.valueSize,
        maxEntries: mine?.maxEntries,
        flagNames: mine?.flagNames,
        memory: mine?.memory,
        pins: mine?.pins,
      },
      { type: 'lru_hash', name: 'cli_list', keySize: 12, valueSize: 20, maxEntries: 333, flagNames: ['zero_seed'], memory, pins: [] },
    );
  });

  test('shows where a map is pinned (every pin), its BTF id, and the entries of an array', async (t) => {
    if (!linuxAvailable(t)) return;
    const a = pinPath('list');
    const b = pinPath('list');
    try {
      using map = BpfMap.create({
        kernel: LINUX.kernel(),
        type: 'array',
        key: u32,
        value: u64,
        maxEntries: 7,
        name: 'cli_list_pin',
        btf: true,
      });
      map.pin(a);
      map.pin(b);
      const table = await runMain(['list']);
      assert.equal(table.code, 0, table.stderr);
      const row = rowOf(table.stdout, map.id);
      assert.equal(row[6], '7', 'an array holds max_entries entries');
      assert.equal(row[8], String(map.info().btfId));
      assert.notEqual(row[8], '0');
      assert.deepEqual(row[10]?.split(','), [a, b].sort());
      const json = JSON.parse((await runMain(['list', '--json'])).stdout) as Array<{
        id: number;
        pins: string[];
        entries?: number;
        btfId: number;
      }>;
      const mine = json.find((m) => m.id === map.id);
      assert.deepEqual({ pins: mine?.pins, entries: mine?.entries }, { pins: [a, b].sort(), entries: 7 });
    } finally {
      rmSync(a, { force: true });
      rmSync(b, { force: true });
    }
  });

  test('on the emulated kernel: its maps and their pins', async () => {
    const env = { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: emuStoreDir() };
    const p = pinPath('list-emu');
    const created = await runCli(['create', p, '--type', 'hash', '--key-size', '4', '--value-size', '8', '--max-entries', '10'], { env });
    assert.equal(created.code, 0, created.stderr);
    const again = await runCli(['pin', 'pinned', p, `${p}-2`], { env });
    assert.equal(again.code, 0, again.stderr);
    const r = await runCli(['list', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^bpfmap list: the emulated kernel's maps/);
    const maps = JSON.parse(r.stdout) as Array<{ id: number; pins: string[]; memory: number }>;
    assert.equal(maps.length, 1);
    assert.deepEqual(maps[0]?.pins, [p, `${p}-2`]);
    assert.ok((maps[0]?.memory ?? 0) > 0);
  });

  test('humanBytes prints sizes as ls -h does', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 10 * 1024, 8_500_000, 3 * 2 ** 30].map(humanBytes), [
      '0',
      '1023',
      '1.0K',
      '1.5K',
      '10K',
      '8.1M',
      '3.0G',
    ]);
  });
});
