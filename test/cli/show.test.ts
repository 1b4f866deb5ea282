import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runCli } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { unpin } from '../helpers/cli.js';

describe('bpfmap show', () => {
  test("shows a map's info, and the pin it was opened by", async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_array', keySize: 4, valueSize: 12, maxEntries: 7, name: 'cli_show' });
    const path = pinPath('cli-show');
    map.pin(path);
    try {
      const [text, json] = await Promise.all([runCli(['show', 'pinned', path]), runCli(['show', 'id', String(map.id), '--json'])]);
      assert.equal(text.code, 0, text.stderr);
      const fields = new Map(text.stdout.trim().split('\n').map((l) => [l.split(/ +/)[0], l.replace(/^\S+ +/, '')]));
      assert.equal(fields.get('id'), String(map.id));
      assert.equal(fields.get('type'), 'percpu_array');
      assert.equal(fields.get('name'), 'cli_show');
      assert.equal(fields.get('value'), `12 bytes per CPU, ${map.cpus} possible CPUs`);
      assert.equal(fields.get('max_entries'), '7');
      assert.equal(fields.get('pinned'), path);
      const info = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.equal(info.id, map.id);
      assert.equal(info.type, 'percpu_array');
      assert.equal(info.keySize, 4);
      assert.equal(info.cpus, map.cpus);
      assert.equal(info.btf, null);
    } finally {
      unpin(path);
    }
  });
});
