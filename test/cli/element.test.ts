import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { openKernel } from '../../src/kernel/open.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import { runMain } from '../helpers/cli.js';
import { LINUX, pinPath, testKernels, u32, u64 } from '../helpers/kernel.js';

for (const k of testKernels()) {
  // The CLI opens the process's shared kernel of this kind: the maps are made on it.
  const kernel = (): Kernel => (k.name === 'linux' ? LINUX.kernel() : openKernel('emulated'));
  const env = { BPFMAP_KERNEL: k.name };
  const cli = (...args: string[]) => runMain(args, { env });

  describe(`single-element commands (${k.name})`, () => {
    test('update, lookup, getnext and delete one entry of a map without BTF, keys and values as hex', async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4, flags: ['zero_seed'] });
      const id = String(map.id);
      const up = await cli('update', 'id', id, '--key', '01000000', '--value', '0x0200000000000000');
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout, `updated id ${id}: {"key":"01000000","value":"0200000000000000"}\n`);
      assert.equal(
        (await cli('update', 'id', id, '--key', '0x02 0x00 0x00 0x00', '--value', '0300000000000000', '--flag', 'noexist')).code,
        0,
      );
      assert.deepEqual(map.get(u32(2)), u64(3), "bpftool's bytes one by one");
      const dup = await cli('update', 'id', id, '--key', '02000000', '--value', '0400000000000000', '--flag', 'noexist');
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /^bpfmap update: BPF_MAP_UPDATE_ELEM .*EEXIST/);
      assert.deepEqual(map.get(u32(2)), u64(3));
      const found = await cli('lookup', 'id', id, '--key', '01000000');
      assert.equal(found.stdout, '{"key":"01000000","value":"0200000000000000"}\n');
      const missing = await cli('lookup', 'id', id, '--key', '09000000');
      assert.deepEqual(
        [missing.code, missing.stdout, missing.stderr],
        [1, '', `bpfmap lookup: id ${id}: no entry has the key "09000000"\n`],
      );
      const first = await cli('getnext', 'id', id);
      const firstKey = (JSON.parse(first.stdout) as { next_key: string }).next_key;
      assert.equal(firstKey, map.nextKey()?.toString('hex'));
      const second = JSON.parse((await cli('getnext', 'id', id, '--key', firstKey)).stdout) as { key: string; next_key: string };
      assert.deepEqual(second, { key: firstKey, next_key: map.nextKey(Buffer.from(firstKey, 'hex'))?.toString('hex') });
      const end = await cli('getnext', 'id', id, '--key', second.next_key);
      assert.equal(end.code, 1);
      assert.match(end.stderr, /it is the last/);
      const del = await cli('delete', 'id', id, '--key', '01000000');
      assert.equal(del.code, 0, del.stderr);
      assert.equal(map.get(u32(1)), undefined);
      assert.equal((await cli('delete', 'id', id, '--key', '01000000')).code, 1, 'nothing to delete');
      const bad = await cli('lookup', 'id', id, '--key', '010000');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--key "010000": key is 3 bytes, but the map's keys are 4 bytes/);
      const none = await cli('lookup', 'id', id);
      assert.deepEqual([none.code, none.stderr], [2, 'bpfmap lookup: --key is required (see bpfmap lookup --help)\n']);
    });

    test('keys and values by BTF as JSON, or as hex bytes', async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: kernel(), type: 'hash', key: flowKey, value: flowStats, maxEntries: 4, btf: true });
      const id = String(map.id);
      const key = '{"saddr":16777226,"daddr":33554442,"sport":53764,"dport":47873,"proto":6}';
      const up = await cli('update', 'id', id, '--key', key, '--value', '{"packets":3,"bytes":180}');
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(map.get({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1234, dport: 443, proto: 6 }), { packets: 3n, bytes: 180n });
      const line = `{"key":${key},"value":{"packets":3,"bytes":180}}\n`;
      assert.equal((await cli('lookup', 'id', id, '--key', key)).stdout, line);
      const hexKey = Buffer.alloc(16);
      flowKey.encode({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 1234, dport: 443, proto: 6 }, hexKey, 0);
      assert.equal(
        (await cli('lookup', 'id', id, '--key', hexKey.toString('hex'))).stdout,
        line,
        'hex bytes where the argument is not JSON',
      );
      const raw = await cli('lookup', 'id', id, '--key', hexKey.toString('hex'), '--hex');
      assert.equal(raw.stdout, `{"key":"${hexKey.toString('hex')}","value":"${'0300000000000000b400000000000000'}"}\n`);
    });

    test('per-CPU maps: --value goes to every CPU, --values gives each its own', async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: kernel(), type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      const id = String(map.id);
      assert.equal((await cli('update', 'id', id, '--key', '01000000', '--value', '0500000000000000')).code, 0);
      const each = JSON.parse((await cli('lookup', 'id', id, '--key', '01000000')).stdout) as { values: string[] };
      assert.deepEqual(
        each.values,
        Array.from({ length: map.cpus }, () => '0500000000000000'),
      );
      const values = JSON.stringify(Array.from({ length: map.cpus }, (_, c) => u64(c + 1).toString('hex')));
      assert.equal((await cli('update', 'id', id, '--key', '01000000', '--values', values)).code, 0);
      const sum = JSON.parse((await cli('lookup', 'id', id, '--key', '01000000', '--percpu', 'sum')).stdout) as { value: string };
      assert.equal(sum.value, u64((map.cpus * (map.cpus + 1)) / 2).toString('hex'));
      const wrong = await cli('update', 'id', id, '--key', '01000000', '--values', '["0100000000000000"]');
      assert.equal(map.cpus > 1 ? wrong.code : 2, 2);
    });

    test('push, peek and pop on a queue; an empty queue and a keyed command are errors', async (t) => {
      if (!k.available(t)) return;
      using q = BpfMap.create({ kernel: kernel(), type: 'queue', keySize: 0, valueSize: 4, maxEntries: 2 });
      const id = String(q.id);
      for (const v of ['01000000', '02000000']) assert.equal((await cli('push', 'id', id, '--value', v)).code, 0);
      const full = await cli('push', 'id', id, '--value', '03000000');
      assert.equal(full.code, 1);
      assert.equal((await cli('push', 'id', id, '--value', '03000000', '--overwrite')).code, 0, 'overwrite drops the oldest');
      assert.equal((await cli('peek', 'id', id)).stdout, '{"value":"02000000"}\n');
      assert.equal((await cli('pop', 'id', id)).stdout, '{"value":"02000000"}\n');
      assert.equal((await cli('pop', 'id', id)).stdout, '{"value":"03000000"}\n');
      const empty = await cli('pop', 'id', id);
      assert.deepEqual([empty.code, empty.stderr], [1, `bpfmap pop: id ${id}: the queue is empty\n`]);
      const keyed = await cli('lookup', 'id', id, '--key', '00');
      assert.equal(keyed.code, 2);
      assert.match(keyed.stderr, /is a queue, whose elements have no keys: use push, pop or peek/);
    });

    test('freeze makes the map read-only to userspace', async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
      const id = String(map.id);
      const r = await cli('freeze', 'id', id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `froze id ${id} (map id ${id}): userspace can no longer write it\n`);
      const up = await cli('update', 'id', id, '--key', '00000000', '--value', '01000000');
      assert.equal(up.code, 1);
      assert.match(up.stderr, /EPERM/);
    });

    test('a path alone is a pinned map: bpfmap dump /sys/fs/bpf/x', async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      map.set(u32(7), u32(8));
      const path = pinPath('cli-shorthand');
      map.pin(path);
      t.after(() => kernel().unpin(path));
      const d = await cli('dump', path, '--format', 'ndjson');
      assert.equal(d.code, 0, d.stderr);
      assert.equal(d.stdout, '{"key":"07000000","value":"08000000"}\n');
      assert.equal((await cli('lookup', path, '--key', '07000000')).stdout, '{"key":"07000000","value":"08000000"}\n');
      const notPath = await cli('dump', 'flows');
      assert.equal(notPath.code, 2);
      assert.match(notPath.stderr, /"flows" needs a value/);
    });
  });
}
