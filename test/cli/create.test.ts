import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BtfBuilder } from '../../src/btf/encode.js';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runMain, tool, unpin } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap create', () => {
  test('creates and pins a map of the given shape', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-create');
    try {
      const r = await runMain(['create', path, '--type', 'hash', '--key-size', '8', '--value-size', '24', '--max-entries', '500', '--name', 'cli_made', '--flags', 'no_prealloc,zero_seed']);
      assert.equal(r.code, 0, r.stderr);
      using map = BpfMap.openPinned(path, { kernel: LINUX.kernel() });
      assert.match(r.stdout, new RegExp(`created hash map id ${map.id} "cli_made", pinned at ${path}`));
      assert.deepEqual([map.typeName, map.keySize, map.valueSize, map.maxEntries, map.name], ['hash', 8, 24, 500, 'cli_made']);
      assert.deepEqual(map.info().flagNames.sort(), ['no_prealloc', 'zero_seed']);
      const again = await runMain(['create', path, '--type', 'hash', '--key-size', '8', '--value-size', '24', '--max-entries', '500']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^bpfmap create: BPF_OBJ_PIN .*failed: EEXIST \(something is already pinned at that path\)\n$/);
    } finally {
      unpin(path);
    }
  });

  test('bad types, flags and names are usage errors; attributes the kernel refuses are runtime errors', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-create-bad');
    const base = [path, '--key-size', '4', '--value-size', '4', '--max-entries', '4'];
    const [type, flag, name, refused] = await Promise.all([
      runMain(['create', ...base, '--type', 'hashy']),
      runMain(['create', ...base, '--type', 'hash', '--flags', 'fast']),
      runMain(['create', ...base, '--type', 'hash', '--name', 'has space']),
      runMain(['create', path, '--type', 'array', '--key-size', '8', '--value-size', '4', '--max-entries', '4']),
    ]);
    assert.equal(type.code, 2);
    assert.match(type.stderr, /unknown map type "hashy" \(known: .*hash/);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown map flag "fast"/);
    assert.equal(name.code, 2);
    assert.match(name.stderr, /--name may hold only letters, digits, "_" and "." \(\[A-Za-z0-9_.\]\), got "has space"/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /BPF_MAP_CREATE failed: EINVAL \(the kernel rejected the map attributes/);
  });

  test('--key and --value take C types: show prints them, bpftool dumps the fields, dump and load speak them', async (t) => {
    if (!linuxAvailable(t)) return;
    const bpftoolPath = tool(t, 'bpftool');
    if (!bpftoolPath) return;
    const path = pinPath('cli-create-typed');
    const hdrs = pinPath('cli-create-vmlinux');
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-create-types-'));
    try {
      const key = 'struct flow { __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; __u8 proto; }';
      const value = 'struct { __u64 packets; __u64 bytes; char comm[8]; enum { NEW, SEEN = 3 } state; }';
      const r = await runMain(['create', path, '--type', 'hash', '--max-entries', '64', '--key', key, '--value', value]);
      assert.equal(r.code, 0, r.stderr);
      const show = await runMain(['show', 'pinned', path]);
      assert.match(show.stdout, /^key type +struct flow \{ __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; __u8 proto; \}$/m);
      assert.match(show.stdout, /^value type +struct \(anon\) \{ __u64 packets; __u64 bytes; char comm\[8\]; enum \(anon\) state; \}$/m);
      assert.match(show.stdout, /^key +16 bytes$/m);
      assert.match(show.stdout, /^value +32 bytes$/m);
      const entry = { key: { saddr: '10.1.54.15', daddr: '192.168.27.254', sport: 61163, dport: 53, proto: 17 }, value: { packets: 2, bytes: 120, comm: 'dig', state: 'SEEN' } };
      const loaded = await runMain(['load', 'pinned', path], { input: `${JSON.stringify(entry)}\n` });
      assert.equal(loaded.code, 0, loaded.stderr);
      const dumped = await runMain(['dump', 'pinned', path, '--format', 'ndjson']);
      assert.deepEqual(JSON.parse(dumped.stdout), entry);
      type Formatted = { formatted: { key: Record<string, number>; value: Record<string, unknown> } };
      const theirs = JSON.parse(execFileSync(bpftoolPath, ['map', 'dump', 'pinned', path, '-j'], { encoding: 'utf8' })) as Formatted[];
      assert.deepEqual(Object.keys(theirs[0]?.formatted.key ?? {}), ['saddr', 'daddr', 'sport', 'dport', 'proto'], 'bpftool sees the fields');
      assert.equal(theirs[0]?.formatted.key.sport, 0xebee, 'bpftool: the host-order number of the network-order port 61163');
      assert.deepEqual(theirs[0]?.formatted.value, { packets: 2, bytes: 120, comm: 'dig', state: 'SEEN' });

      // Names from vmlinux (the default), from another map's BTF, and from a BTF file.
      const v = await runMain(['create', hdrs, '--type', 'array', '--max-entries', '2', '--value', 'struct iphdr']);
      assert.equal(v.code, 0, v.stderr);
      assert.match((await runMain(['show', 'pinned', hdrs])).stdout, /^value type +struct iphdr \{ __u8 ihl:4; __u8 version:4; .*__sum16 check; union \{/m);
      unpin(hdrs);
      const fromMap = await runMain(['create', hdrs, '--type', 'hash', '--max-entries', '2', '--key', 'struct flow', '--value', '__u64', '--types-from', `pinned:${path}`]);
      assert.equal(fromMap.code, 0, fromMap.stderr);
      assert.match((await runMain(['show', 'pinned', hdrs])).stdout, /^key type +struct flow \{ __be32 saddr;/m);
      unpin(hdrs);
      const b = new BtfBuilder();
      b.struct('point', [{ name: 'x', type: b.int('int', 4, { signed: true }) }, { name: 'y', type: b.int('int', 4, { signed: true }) }]);
      const file = join(dir, 'types.btf');
      writeFileSync(file, b.build());
      const fromFile = await runMain(['create', hdrs, '--type', 'hash', '--max-entries', '2', '--key', 'struct point', '--value', 'struct point[2]', '--types-from', file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.match((await runMain(['show', 'pinned', hdrs])).stdout, /^value +16 bytes$/m);

      for (const [args, msg] of [
        [['--key', 'struct { __u32 a }', '--value', '__u64'], /--key: expected ";" at "\}"/],
        [['--key', 'struct nope', '--value', '__u64'], /--key: unknown struct nope/],
        [['--key', '__u32'], /--key needs --value/],
        [[], /give --key-size and --value-size, or the types/],
        [['--key', '__u32', '--value', '__u64', '--key-size', '8'], /the BTF types are 4-byte keys and 8-byte values, but the map would have 8 and 8/],
      ] as const) {
        const bad = await runMain(['create', pinPath('cli-create-never'), '--type', 'hash', '--max-entries', '2', ...args]);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, msg);
      }
    } finally {
      unpin(path);
      unpin(hdrs);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
