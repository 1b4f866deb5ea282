import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { CLI, tool, unpin } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { packageCopy } from '../helpers/package.js';

const NOTICE = /^bpfmap: using the emulated kernel, not the real one, because bpf\(\) was refused with EPERM: it needs root or CAP_BPF; choose explicitly with --kernel linux\|emulated or BPFMAP_KERNEL=linux\|emulated$/;

/** The CLI as root without any capability: bpf() is really refused. */
function unprivileged(args: string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string[] } {
  const r = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', process.execPath, CLI, ...args], { encoding: 'utf8', env });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trimEnd().split('\n').filter((l) => l !== '') };
}

describe('which kernel answers', () => {
  test('without privileges, every command says once that the emulator answers and why; its not-found errors say the real kernel may differ', (t) => {
    if (!linuxAvailable(t) || tool(t, 'setpriv') === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-notice-'));
    const env: NodeJS.ProcessEnv = { ...process.env, BPFMAP_EMU_DIR: dir };
    delete env.BPFMAP_KERNEL;
    const path = pinPath('cli-notice');
    using real = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    real.pin(path);
    try {
      const list = unprivileged(['list'], env);
      assert.equal(list.code, 0, list.stderr.join('\n'));
      assert.equal(list.stdout, 'ID  TYPE  NAME  KEY  VALUE  MAX_ENTRIES  ENTRIES  MEMLOCK  BTF  FLAGS  PINNED\n');
      assert.equal(list.stderr.length, 2, list.stderr.join('\n'));
      assert.match(list.stderr[0] as string, NOTICE);
      assert.equal(list.stderr[1], `bpfmap list: the emulated kernel's maps (pinned ones kept in ${dir}), not the real kernel's`);

      const dump = unprivileged(['dump', 'pinned', path], env);
      assert.equal(dump.code, 1);
      assert.equal(dump.stderr.length, 2, dump.stderr.join('\n'));
      assert.match(dump.stderr[0] as string, NOTICE);
      assert.equal(dump.stderr[1], `bpfmap dump: BPF_OBJ_GET on map ${path} failed: ENOENT (nothing is pinned at that path on the emulated kernel, ` +
        'which answers because bpf() was refused with EPERM: it needs root or CAP_BPF; something is pinned there on the real kernel)');

      const byId = unprivileged(['show', 'id', String(real.id)], env);
      assert.equal(byId.code, 1);
      assert.match(byId.stderr[1] as string, new RegExp(`^bpfmap show: BPF_MAP_GET_FD_BY_ID on map id ${real.id} failed: ENOENT \\(no map has that id on the emulated kernel, which answers because bpf\\(\\) was refused .*; its ids are not the real kernel's\\)$`));

      // Chosen explicitly, the emulator needs no notice; its errors are plain.
      const chosen = unprivileged(['dump', 'pinned', path, '--kernel', 'emulated'], env);
      assert.deepEqual(chosen.stderr, [`bpfmap dump: BPF_OBJ_GET on map ${path} failed: ENOENT (nothing is pinned at that path)`]);
      const byEnv = unprivileged(['list'], { ...env, BPFMAP_KERNEL: 'emulated' });
      assert.deepEqual(byEnv.stderr, [`bpfmap list: the emulated kernel's maps (pinned ones kept in ${dir}), not the real kernel's`]);
    } finally {
      unpin(path);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('installed without its addon (npm install --ignore-scripts), the CLI says the emulator answers because the addon is missing, and how to build it', (t) => {
    const pkg = packageCopy({ addon: false });
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-noaddon-'));
    const env: NodeJS.ProcessEnv = { ...process.env, BPFMAP_EMU_DIR: dir };
    delete env.BPFMAP_KERNEL;
    t.after(() => {
      pkg.remove();
      rmSync(dir, { recursive: true, force: true });
    });
    const list = spawnSync(process.execPath, [pkg.cli, 'list'], { encoding: 'utf8', env });
    assert.equal(list.status, 0, list.stderr);
    const [notice, listed] = list.stderr.trimEnd().split('\n');
    assert.match(notice as string, /^bpfmap: using the emulated kernel, not the real one, because the native bpf\(\) addon could not be loaded \(.+\): build it with `npm rebuild bpfmap` \(an install with --ignore-scripts skips it\); choose explicitly with --kernel/);
    assert.match(listed as string, /^bpfmap list: the emulated kernel's maps/);
    const linux = spawnSync(process.execPath, [pkg.cli, 'list', '--kernel', 'linux'], { encoding: 'utf8', env });
    assert.equal(linux.status, 1);
    assert.match(linux.stderr, /^bpfmap list: .*native bpf\(\) addon is not available/);
  });
});
