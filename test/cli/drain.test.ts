import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lines, runCli } from '../helpers/cli.js';
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
});
