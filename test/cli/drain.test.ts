import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lines, runCli, runCliClosingEarly } from '../helpers/cli.js';
import { BpfMap } from '../../src/map/map.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';
import { closeFixture, fixture } from '../helpers/maps.js';

describe('bpfmap drain', () => {
  test('prints every entry once and leaves the map empty', async (t) => {
    if (!linuxAvailable(t)) return;
    for (const type of ['hash', 'percpu_hash'] as const) {
      const f = fixture(LINUX.kernel(), type, 60);
      try {
        const r = await runCli(['drain', 'id', String(f.map.id), '--batch', '7']);
        assert.equal(r.code, 0, r.stderr);
        const got = lines(r.stdout).map((l) => {
          const e = JSON.parse(l) as { key: string; value?: string; values?: string[] };
          return `${e.key}=${e.values ? e.values.join('|') : e.value}`;
        });
        assert.equal(got.length, 60);
        assert.deepEqual(new Set(got), f.expected, type);
        assert.equal(f.map.dump().count, 0, `${type} is empty`);
      } finally {
        closeFixture(f);
      }
    }
  });

  test('a map type without LOOKUP_AND_DELETE_BATCH is an error, and nothing is removed', async (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'array', 5);
    try {
      const r = await runCli(['drain', 'id', String(f.map.id)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^bpfmap drain: BPF_MAP_LOOKUP_AND_DELETE_BATCH on map id \d+ failed: E\w+ \(array maps have no BPF_MAP_LOOKUP_AND_DELETE_BATCH/);
      assert.equal(r.stdout, '');
      assert.equal(f.map.dump().count, 5);
    } finally {
      closeFixture(f);
    }
  });

  test('an output that closes early is an error for drain (what was removed is lost), not for dump', async (t) => {
    if (!linuxAvailable(t)) return;
    const n = 100_000;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: n });
    const keys = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 4);
    map.updateBatch({ keys, values: Buffer.alloc(n * 8) });
    const dump = await runCliClosingEarly(['dump', 'id', String(map.id), '--batch', '64']);
    assert.deepEqual(dump, { code: 0, stderr: '' });
    const drain = await runCliClosingEarly(['drain', 'id', String(map.id), '--batch', '64']);
    assert.equal(drain.code, 1);
    assert.equal(drain.stderr, 'bpfmap: the output closed early: entries drained from the map but not yet written are lost\n');
    assert.ok(map.dump().count < n, 'drain removed entries before the output closed');
  });
});
