import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { CLI, NOBODY, onFreshMachine, rootWithNamespaces, runCli, runMain, tool, unpin } from '../helpers/cli.js';
import { Tmux } from '../helpers/tmux.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { packageCopy } from '../helpers/package.js';

const sh = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

describe('bpfmap demo', () => {
  test('says how much kernel memory the map holds and how to remove it; --clean removes it, and only a demo map', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-demo-clean');
    t.after(() => unpin(path));
    const r = await runMain(['demo', '--pin', path, '--entries', '500', '--top', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\nthe map holds [0-9.]+[KM] of kernel memory while pinned: remove it with bpfmap demo --clean --pin ${path}\\n$`));
    const clean = await runMain(['demo', '--clean', '--pin', path]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, new RegExp(`^removed the demo map pinned at ${path}`));
    assert.throws(() => BpfMap.openPinned(path, { kernel: LINUX.kernel() }), /ENOENT/);
    assert.equal((await runMain(['demo', '--clean', '--pin', path])).stdout, `nothing is pinned at ${path}: nothing to remove\n`);
    using other = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, name: 'not_the_demo' });
    other.pin(path);
    const refused = await runMain(['demo', '--clean', '--pin', path]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /holds the map "not_the_demo", not the demo's "demo_flows": left alone/);
    using still = BpfMap.openPinned(path, { kernel: LINUX.kernel() });
    assert.equal(still.id, other.id);
  });

  test('--clean on the emulated kernel removes its pin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-emu-'));
    const env = { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir };
    const path = '/sys/fs/bpf/bpfmap_cli_emu_demo_clean';
    try {
      const r = await runCli(['demo', '--pin', path, '--entries', '100', '--top', '1'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /remove it with bpfmap demo --clean --pin \/sys\/fs\/bpf\/bpfmap_cli_emu_demo_clean\n$/);
      const clean = await runCli(['demo', '--clean', '--pin', path], { env });
      assert.equal(clean.code, 0, clean.stderr);
      const list = await runCli(['list', '--json'], { env });
      assert.deepEqual(JSON.parse(list.stdout), [], 'no map is left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('creates (and recreates) the pinned flow map, prints both timings and the top flows by bytes', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-demo');
    try {
      const r = await runMain(['demo', '--pin', path]);
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
      const again = await runMain(['demo', '--pin', path, '--entries', '500', '--top', '3']);
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

  // The README's quick start on a machine like a new VM: no bpf filesystem mounted, the package
  // as npm installs it, and once as root and once as a user without any privilege.
  test('on a fresh machine without a bpf filesystem, bpfmap demo works as root (mounting one) and unprivileged (on the emulator)', (t) => {
    if (!linuxAvailable(t) || !rootWithNamespaces(t)) return;
    const pkg = packageCopy({ addon: true });
    const tmp = mkdtempSync(join(tmpdir(), 'bpfmap-fresh-tmp-'));
    chmodSync(tmp, 0o1777);
    try {
      const node = sh(process.execPath);
      const cli = sh(pkg.cli);
      const demo = `${node} ${cli} demo --entries 2000 --top 3`;

      const pin = onFreshMachine(`${node} ${cli} create /sys/fs/bpf/bpfmap_fresh_x --type hash --key-size 4 --value-size 4 --max-entries 1`);
      assert.equal(pin.code, 1, pin.stdout);
      assert.match(pin.stderr, /^bpfmap create: BPF_OBJ_PIN on map \/sys\/fs\/bpf\/bpfmap_fresh_x failed: E\w+ \(no bpf filesystem is mounted at \/sys\/fs\/bpf: mount one as root with `mount -t bpf bpf \/sys\/fs\/bpf`\)\n$/);

      const root = onFreshMachine(demo);
      assert.equal(root.code, 0, root.stderr);
      assert.equal(root.stderr, '');
      const lines = root.stdout.split('\n');
      assert.equal(lines[0], 'no bpf filesystem was mounted at /sys/fs/bpf: mounted one (mount -t bpf bpf /sys/fs/bpf)');
      assert.match(lines[1] as string, /^created hash map id \d+ "demo_flows" with 2,000 flows, pinned at \/sys\/fs\/bpf\/bpfmap_demo_flows \(linux kernel\)$/);
      assert.match(root.stdout, /read with GET_NEXT_KEY \+ LOOKUP: +2,000 entries/);
      assert.equal(root.stdout.split('\n').filter((l) => /^10\.\d+\.\d+\.\d+:\d+ /.test(l)).length, 3);

      // TMPDIR: a fresh /tmp, so the emulator's default store holds nothing an earlier run left.
      const user = onFreshMachine(`${NOBODY.join(' ')} ${demo} && ${NOBODY.join(' ')} ${node} ${cli} list`, { TMPDIR: tmp });
      assert.equal(user.code, 0, user.stderr);
      assert.match(user.stdout, /^created hash map id 1 "demo_flows" with 2,000 flows, pinned at \/sys\/fs\/bpf\/bpfmap_demo_flows \(emulated kernel\)$/m);
      assert.match(user.stdout, /read with GET_NEXT_KEY \+ LOOKUP: +2,000 entries/);
      assert.match(user.stdout, /^ID +TYPE +NAME .*\n +1 +hash +demo_flows +16 +16 +2000 +- +[0-9.]+[KM]? +\d+ +- +\/sys\/fs\/bpf\/bpfmap_demo_flows$/m, 'list finds the demo map in the emulator\'s store');
      const notice = 'bpfmap: using the emulated kernel, not the real one, because bpf() was refused with EPERM: it needs root or CAP_BPF; ' +
        'choose explicitly with --kernel linux|emulated or BPFMAP_KERNEL=linux|emulated';
      assert.deepEqual(user.stderr.trimEnd().split('\n'), [notice, notice,
        `bpfmap list: the emulated kernel's maps (pinned ones kept in ${join(tmp, 'bpfmap-emu-65534')}), not the real kernel's`]);
    } finally {
      pkg.remove();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('the demo map read through its BTF (issue: readable by default)', () => {
  test('dump, watch and the typed API show the addresses and ports of the demo table; dump | load round-trips; a __be16 is network order in bpftool', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmuxPath = tool(t, 'tmux');
    const bpftoolPath = tool(t, 'bpftool');
    if (!tmuxPath || !bpftoolPath) return;
    const path = pinPath('cli-demo-btf');
    try {
      const demo = await runMain(['demo', '--pin', path, '--entries', '300', '--top', '5']);
      assert.equal(demo.code, 0, demo.stderr);
      // The demo's table, made with its own codecs: "10.0.0.7:61163  192.168.27.254:53  tcp ...".
      const table = demo.stdout.split('\n').filter((l) => /^10\.\d+\.\d+\.\d+:\d+ /.test(l)).map((l) => l.trim().split(/ +/).slice(0, 2).join(' '));
      assert.equal(table.length, 5);
      type Key = { saddr: string; daddr: string; sport: number; dport: number };
      const flow = (k: Key): string => `${k.saddr}:${k.sport} ${k.daddr}:${k.dport}`;

      const dumped = await runMain(['dump', 'pinned', path, '--format', 'json']);
      assert.equal(dumped.code, 0, dumped.stderr);
      const entries = JSON.parse(dumped.stdout) as Array<{ key: Key; value: { bytes: number } }>;
      const top = entries.sort((a, b) => b.value.bytes - a.value.bytes).slice(0, 5).map((e) => flow(e.key));
      assert.deepEqual(top, table, 'dump shows the flows as the demo table does');

      // The typed API: plain BTF gives network-order numbers; display: true the same text as dump.
      using typed = BpfMap.openPinned<Record<string, unknown>, Record<string, unknown>>(path, { kernel: LINUX.kernel() });
      using shown = BpfMap.openPinned<Key, { bytes: bigint }>(path, { kernel: LINUX.kernel(), display: true });
      const byBytes = [...shown.entries()].sort((a, b) => Number(b[1].bytes - a[1].bytes)).slice(0, 5);
      assert.deepEqual(byBytes.map(([k]) => flow(k)), table, 'the typed API with display: true');
      const first = byBytes[0]?.[0] as Key;
      const plain = typed.get({ ...first, saddr: first.saddr.split('.').reduce((n, x) => n * 256 + Number(x), 0), daddr: first.daddr.split('.').reduce((n, x) => n * 256 + Number(x), 0) });
      assert.ok(plain, 'the plain BTF key: __be32 addresses as network-order numbers, ports as they are');
      assert.throws(() => typed.get(first as unknown as Record<string, unknown>), /saddr of map id \d+ "demo_flows": expected an integer/, 'plain BTF codecs take numbers, not text');
      assert.deepEqual(shown.get(first), { packets: (plain as { packets: bigint }).packets, bytes: (plain as { bytes: bigint }).bytes });

      // dump --format json | load into an empty map with the same BTF: byte for byte.
      using copy = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key: flowKey, value: flowStats, maxEntries: 301, btf: true });
      const loaded = await runMain(['load', 'id', String(copy.id)], { input: dumped.stdout });
      assert.equal(loaded.code, 0, loaded.stderr);
      using rawSrc = BpfMap.openPinned(path, { kernel: LINUX.kernel(), raw: true });
      const bytesOf = (m: BpfMap<unknown, unknown>): string[] => {
        const d = m.dump();
        return Array.from({ length: d.count }, (_, i) => `${d.keys.toString('hex', i * 16, i * 16 + 16)}=${d.values.toString('hex', i * 16, i * 16 + 16)}`).sort();
      };
      assert.deepEqual(bytesOf(copy as BpfMap<unknown, unknown>), bytesOf(rawSrc as BpfMap<unknown, unknown>));

      // A __be16 written through the typed API: network order in bpftool's bytes.
      using typedCopy = BpfMap.fromId<Record<string, unknown>, Record<string, unknown>>(copy.id, { kernel: LINUX.kernel() });
      typedCopy.set({ saddr: 0x0a000001, daddr: 0x0a000002, sport: 8080, dport: 53, proto: 6 }, { packets: 1, bytes: 2 });
      const one = JSON.parse(execFileSync(bpftoolPath, ['map', 'lookup', 'id', String(copy.id), 'key', 'hex', ...'0a 00 00 01 0a 00 00 02 1f 90 00 35 06 00 00 00'.split(' '), '-j'], { encoding: 'utf8' })) as { key: string[] };
      assert.deepEqual(one.key.slice(8, 10), ['0x1f', '0x90'], 'sport 8080 is 1f 90 in the map');

      // watch: the top flows by bytes, keys as the table shows them.
      using term = new Tmux(tmuxPath, 200);
      term.type(`node ${CLI} watch pinned ${path} --field bytes --top 5; echo EXIT=$?`);
      const s = await term.waitFor(/entries 300 /);
      const rows = s.split('\n').filter((l) => /^ +\d+ {2}\{/.test(l)).map((l) => flow(JSON.parse(/\{.*\}/.exec(l)?.[0] as string) as Key));
      assert.deepEqual(rows, table, 'watch shows the flows as the demo table does');
      term.keys('q');
      await term.waitFor(/EXIT=0/);
    } finally {
      unpin(path);
    }
  });
});
