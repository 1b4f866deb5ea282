import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { NOBODY, onFreshMachine, rootWithNamespaces, runCli, runMain, unpin } from '../helpers/cli.js';
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
