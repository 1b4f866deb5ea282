import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linuxAvailable } from '../helpers/kernel.js';

// Runs a child without any capability (root's uid, an empty bounding set: exec grants nothing),
// so bpf() is really refused by the kernel, not faked.
test('without privileges, the error names the problem and the fix', (t) => {
  if (!linuxAvailable(t)) return;
  const script = `
    import { BpfMap } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
    try {
      BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, kernel: undefined });
      console.log('CREATED');
    } catch (e) {
      console.log(e.name + ': ' + e.message);
    }
  `;
  const r = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs',
    process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, BPFMAP_KERNEL: 'linux' } });
  assert.equal(r.error, undefined, 'setpriv must be installed (util-linux)');
  assert.equal(r.status, 0, r.stderr);
  const capEff = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', 'grep', 'CapEff', '/proc/self/status'], { encoding: 'utf8' });
  assert.match(capEff.stdout, /CapEff:\s+0+\s*$/m, 'the child really has no capability');
  assert.match(r.stdout, /^BpfError: BPF_MAP_GET_NEXT_ID failed: EPERM .*CAP_BPF.*BPFMAP_KERNEL=emulated/);
});

/** The README's emulated-kernel example, importing this build instead of the package. */
function readmeExample(): string {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Without root: the emulated kernel'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'the README has the example');
  return (m[1] as string).replace("from 'bpfmap'", `from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)}`);
}

test('without any capability, the README example runs on the emulated kernel and prints what the real kernel prints', (t) => {
  if (!linuxAvailable(t)) return;
  const script = readmeExample();
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-readme-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BPFMAP_EMU_DIR: dir };
  delete env.BPFMAP_KERNEL;
  const unprivileged = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs',
    process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.equal(unprivileged.status, 0, unprivileged.stderr);
  const root = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.equal(root.status, 0, root.stderr);
  const [kind, ...rest] = unprivileged.stdout.trim().split('\n');
  const [rootKind, ...rootRest] = root.stdout.trim().split('\n');
  assert.equal(kind, 'emulated', 'openKernel() fell back to the emulator');
  assert.equal(rootKind, 'linux');
  assert.equal(rest.length, 2);
  assert.deepEqual(rest, rootRest, 'same batch result and key order on both kernels');
  rmSync(dir, { recursive: true, force: true });
});
