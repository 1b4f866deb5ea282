import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { u8, u32 as u32Codec } from '../../src/codec/int.js';
import { struct } from '../../src/codec/struct.js';
import { BpfMap } from '../../src/map/map.js';
import { runCli, runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable, u32, u64 } from '../helpers/kernel.js';

function filled(n: number): BpfMap {
  const map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: n + 8 });
  map.updateBatch(Array.from({ length: n }, (_, i) => [u32(i), u64(i)] as [Buffer, Buffer]));
  return map;
}

const hex = (i: number): string => u32(i).toString('hex');

describe('bpfmap delete-entries', () => {
  test('deletes the keys given with --key, or read from stdin as dump prints them', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = filled(20);
    const byKey = await runMain(['delete-entries', 'id', String(map.id), '--key', hex(3), '--key', `"${hex(4)}"`]);
    assert.equal(byKey.code, 0, byKey.stderr);
    assert.match(byKey.stdout, /deleted 2 entries/);
    const input = [5, 6, 7].map((i) => JSON.stringify({ key: hex(i), value: u64(i).toString('hex') })).join('\n');
    const byStdin = await runMain(['delete-entries', 'id', String(map.id)], { input });
    assert.equal(byStdin.code, 0, byStdin.stderr);
    assert.match(byStdin.stdout, /deleted 3 entries/);
    const left = [...map.keys()].map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
    assert.deepEqual(left, Array.from({ length: 20 }, (_, i) => i).filter((i) => i < 3 || i > 7));
  });

  test('a typed key that leaves out a field is refused, nothing deleted (zero-filled, it would delete another key)', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    const key = struct({ id: u32Codec, proto: u8 }, { name: 'del_key' });
    using map = BpfMap.create({ kernel, type: 'hash', key, value: u32Codec, maxEntries: 4, btf: true, name: 'del_missing' });
    map.set({ id: 1, proto: 0 }, 10);
    map.set({ id: 1, proto: 6 }, 11);
    const r = await runMain(['delete-entries', 'id', String(map.id)], { input: `${JSON.stringify({ key: { id: 1, proto: 6 } })}\n${JSON.stringify({ key: { id: 1 } })}\n` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^bpfmap delete-entries: line 2: key of map id ${map.id} "del_missing": missing field "proto"`));
    assert.equal(map.dump().count, 2);
  });

  test('--all empties the map; a missing key stops with ENOENT and says how many were deleted', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = filled(3000);
    const all = await runMain(['delete-entries', 'id', String(map.id), '--all', '--batch', '256']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /deleted 3000 entries/);
    assert.equal(map.dump().count, 0);
    using small = filled(5);
    const input = [0, 1, 99, 2].map((i) => JSON.stringify({ key: hex(i) })).join('\n');
    const r = await runMain(['delete-entries', 'id', String(small.id)], { input });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BPF_MAP_DELETE_BATCH .*failed: ENOENT.*; 2 entries were deleted before the failure/);
    assert.equal(small.dump().count, 3);
    const bad = await runMain(['delete-entries', 'id', String(small.id), '--all', '--key', hex(1)]);
    assert.equal(bad.code, 2);
  });

  test('an overlong line is an error naming it, raised as the bytes arrive: a 32 MB line, --file /dev/zero', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = filled(4);
    const long = `{"key":"${'0'.repeat(32 << 20)}"}\n`;
    for (const [args, input, where] of [
      [[], `{"key":"${hex(1)}"}\n\n${long}`, 'line 3'],
      [['--file', '/dev/zero'], '', 'line 1'],
    ] as const) {
      const r = await runCli(['delete-entries', 'id', String(map.id), ...args], { input, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `bpfmap delete-entries: ${where}: longer than 1 MiB, the longest line an entry of this map can need (is the input what dump prints?); nothing was deleted\n`);
      assert.equal(map.dump().count, 4);
    }
  });
});
