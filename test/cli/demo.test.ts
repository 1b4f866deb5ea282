import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { runCli, unpin } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap demo', () => {
  test('creates (and recreates) the pinned flow map, prints both timings and the top flows by bytes', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-demo');
    try {
      const r = await runCli(['demo', '--pin', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`created hash map id \\d+ "demo_flows" with 100,000 flows, pinned at ${path}`));
      assert.match(r.stdout, /read with LOOKUP_BATCH: +100,000 entries in [0-9.]+ ms/);
      assert.match(r.stdout, /read with GET_NEXT_KEY \+ LOOKUP: +100,000 entries in [0-9.]+ ms \([0-9.]+x the batch time\)/);
      const rows = r.stdout.split('\n').filter((l) => /^10\.\d+\.\d+\.\d+:\d+ /.test(l));
      assert.equal(rows.length, 10);
      const shown = rows.map((l) => Number((l.trim().split(/ +/)[4] as string).replace(/,/g, '')));
      using map = BpfMap.openPinned(path, { kernel: LINUX.kernel(), key: flowKey, value: flowStats });
      const all = [...map.values()].map((v) => Number(v.bytes)).sort((a, b) => b - a);
      assert.equal(all.length, 100_000);
      assert.deepEqual(shown, all.slice(0, 10), 'the top 10 by bytes, in order');
      const again = await runCli(['demo', '--pin', path, '--entries', '500', '--top', '3']);
      assert.equal(again.code, 0, again.stderr);
      using second = BpfMap.openPinned(path, { kernel: LINUX.kernel() });
      assert.notEqual(second.id, map.id, 'a new map');
      assert.equal(second.dump().count, 500);
    } finally {
      unpin(path);
    }
  });

  test('runs on the emulated kernel, whose pins the next command finds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-emu-'));
    const env = { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir };
    const path = '/sys/fs/bpf/bpfmap_cli_emu_demo';
    try {
      for (let run = 0; run < 2; run++) {
        const r = await runCli(['demo', '--pin', path, '--entries', '3000', '--top', '3'], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /with 3,000 flows, pinned at \/sys\/fs\/bpf\/bpfmap_cli_emu_demo \(emulated kernel\)/);
        assert.match(r.stdout, /read with LOOKUP_BATCH: +3,000 entries/);
      }
      const [list, dump] = await Promise.all([runCli(['list', '--json'], { env }), runCli(['dump', 'pinned', path, '--kernel', 'emulated'], { env })]);
      const maps = (JSON.parse(list.stdout) as Array<{ name: string; maxEntries: number }>).filter((m) => m.name === 'demo_flows');
      assert.deepEqual(maps.map((m) => m.maxEntries), [3000], 'the second run replaced the first map');
      assert.equal(dump.code, 0, dump.stderr);
      assert.equal(dump.stdout.trim().split('\n').length, 3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without any capability, bpfmap demo falls back to the emulated kernel by itself', (t) => {
    if (!linuxAvailable(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-unpriv-'));
    const env: NodeJS.ProcessEnv = { ...process.env, BPFMAP_EMU_DIR: dir };
    delete env.BPFMAP_KERNEL;
    try {
      const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
      const r = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs',
        process.execPath, cli, 'demo', '--entries', '2000', '--top', '3'], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /with 2,000 flows, pinned at .* \(emulated kernel\)/);
      assert.match(r.stdout, /read with GET_NEXT_KEY \+ LOOKUP: +2,000 entries/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
