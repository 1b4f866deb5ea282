import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { BpfMap } from '../../src/map/map.js';
import { runCli, runMain } from '../helpers/cli.js';
import { emuStoreDir, LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { unpin } from '../helpers/cli.js';

describe('bpfmap show', () => {
  test("shows a map's info, and the pin it was opened by", async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_array', keySize: 4, valueSize: 12, maxEntries: 7, name: 'cli_show' });
    const path = pinPath('cli-show');
    map.pin(path);
    try {
      const [text, json] = await Promise.all([runMain(['show', 'pinned', path]), runMain(['show', 'id', String(map.id), '--json'])]);
      assert.equal(text.code, 0, text.stderr);
      const fields = new Map(text.stdout.trim().split('\n').map((l) => [l.split(/ +/)[0], l.replace(/^\S+ +/, '')]));
      assert.equal(fields.get('id'), String(map.id));
      assert.equal(fields.get('type'), 'percpu_array');
      assert.equal(fields.get('name'), 'cli_show');
      assert.equal(fields.get('value'), `12 bytes per CPU, ${map.cpus} possible CPUs`);
      assert.equal(fields.get('max_entries'), '7');
      assert.equal(fields.get('pinned'), path);
      assert.equal(fields.get('memlock'), `${map.info().memlock} bytes`);
      assert.equal(fields.get('frozen'), 'no');
      const info = JSON.parse(json.stdout) as Record<string, unknown>;
      assert.equal(info.id, map.id);
      assert.equal(info.type, 'percpu_array');
      assert.equal(info.keySize, 4);
      assert.equal(info.cpus, map.cpus);
      assert.equal(info.btf, null);
      assert.equal(info.frozen, false);
      assert.equal(typeof info.memlock, 'number');
    } finally {
      unpin(path);
    }
  });

  test('shows the key and value types of a map with BTF, as C declares them', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key: flowKey, value: flowStats, maxEntries: 4, btf: true });
    const [text, json] = await Promise.all([runMain(['show', 'id', String(map.id)]), runMain(['show', 'id', String(map.id), '--json'])]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^key type +struct flow \{ __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; unsigned char proto; \}$/m);
    assert.match(text.stdout, /^value type +struct flow_stats \{ (long long unsigned int|__u64|u64) packets; \1 bytes; \}$/m);
    const btf = (JSON.parse(json.stdout) as { btf: { id: number; key: string } }).btf;
    assert.equal(btf.id, map.info().btfId);
    assert.match(btf.key, /^struct flow \{/);
  });

  test('show id N finds every pin of the map, on the real kernel and the emulated one', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    const [a, b] = [pinPath('cli-show-pins'), pinPath('cli-show-pins')].sort() as [string, string];
    map.pin(a);
    map.pin(b);
    try {
      const [text, json] = await Promise.all([runMain(['show', 'id', String(map.id)]), runMain(['show', 'id', String(map.id), '--json'])]);
      assert.match(text.stdout, new RegExp(`^pinned +${a}, ${b}$`, 'm'));
      assert.deepEqual((JSON.parse(json.stdout) as { pins: string[] }).pins, [a, b]);
    } finally {
      unpin(a);
      unpin(b);
    }
    const env = { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: emuStoreDir() };
    const created = await runCli(['create', a, '--type', 'hash', '--key-size', '4', '--value-size', '8', '--max-entries', '10'], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await runCli(['pin', 'pinned', a, b], { env })).code, 0);
    const emu = await runCli(['show', 'id', '1', '--json'], { env });
    assert.deepEqual((JSON.parse(emu.stdout) as { pins: string[] }).pins, [a, b]);
  });
});
