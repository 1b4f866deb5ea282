import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { openKernel } from '../../src/kernel/open.js';
import { pathToFileURL } from 'node:url';
import { linuxAvailable } from '../helpers/kernel.js';
import { packageCopy } from '../helpers/package.js';

const INDEX = JSON.stringify(new URL('../../src/index.js', import.meta.url).href);

function kindIn(env: Record<string, string | undefined>, arg = ''): string {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { openKernel } from ${INDEX}; try { console.log(openKernel(${arg}).kind); } catch (e) { console.log(e.name); }`], { encoding: 'utf8', env: e });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** What openKernel(arg) answers in a child with env: "kind: reason". */
function choiceIn(env: Record<string, string | undefined>, arg = '', index = INDEX): string {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { openKernel } from ${index}; const k = openKernel(${arg}); console.log(k.kind + ': ' + k.reason);`], { encoding: 'utf8', env: e });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('openKernel: the argument, then BPFMAP_KERNEL, then the real kernel where bpf() works', (t) => {
  const emu = openKernel('emulated');
  assert.equal(emu.kind, 'emulated');
  assert.ok(emu instanceof EmulatedKernel);
  assert.equal(openKernel('emulated'), emu, 'one shared emulated kernel per process');
  assert.throws(() => openKernel('bsd' as never), TypeError);
  assert.equal(kindIn({ BPFMAP_KERNEL: 'emulated' }), 'emulated');
  assert.equal(kindIn({ BPFMAP_KERNEL: 'nope' }), 'TypeError');
  assert.equal(kindIn({ BPFMAP_KERNEL: 'linux' }, "'emulated'"), 'emulated', 'the argument wins over the environment');
  if (!linuxAvailable(t)) return;
  assert.equal(openKernel().kind, 'linux');
  assert.equal(kindIn({ BPFMAP_KERNEL: undefined }), 'linux');
  assert.equal(kindIn({ BPFMAP_KERNEL: 'emulated' }, "'linux'"), 'linux');
});

test('openKernel: without privileges, the emulated kernel; unless the real one is demanded', (t) => {
  if (!linuxAvailable(t)) return;
  const run = (env: string) => spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs',
    'env', ...(env ? [env] : ['-u', 'BPFMAP_KERNEL']), process.execPath, '--input-type=module', '-e',
    `import { openKernel } from ${INDEX}; try { console.log(openKernel().kind); } catch (e) { console.log(e.code); }`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(run(''), 'emulated');
  assert.equal(run('BPFMAP_KERNEL=linux'), 'EPERM');
});

test('openKernel: kernel.reason says what chose the kernel, or why the real one could not be used', (t) => {
  assert.equal(choiceIn({ BPFMAP_KERNEL: 'emulated' }), 'emulated: BPFMAP_KERNEL=emulated asked for it');
  assert.equal(choiceIn({ BPFMAP_KERNEL: 'linux' }, "'emulated'"), "emulated: openKernel('emulated') asked for it");
  assert.equal(new EmulatedKernel({ dir: '/nonexistent' }).reason, 'created directly (new EmulatedKernel())');
  // Installed with --ignore-scripts: no addon, and even root gets the emulator, saying why.
  const pkg = packageCopy({ addon: false });
  t.after(() => pkg.remove());
  const noAddon = choiceIn({ BPFMAP_KERNEL: undefined }, '', JSON.stringify(pathToFileURL(pkg.index).href));
  assert.match(noAddon, /^emulated: the native bpf\(\) addon could not be loaded \(.+\): build it with `npm rebuild bpfmap` \(an install with --ignore-scripts skips it\)$/);
  if (!linuxAvailable(t)) return;
  assert.equal(choiceIn({ BPFMAP_KERNEL: undefined }), 'linux: bpf() works here');
  assert.equal(choiceIn({ BPFMAP_KERNEL: 'linux' }), 'linux: BPFMAP_KERNEL=linux asked for it');
  const r = spawnSync('setpriv', ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', 'env', '-u', 'BPFMAP_KERNEL',
    process.execPath, '--input-type=module', '-e', `import { openKernel } from ${INDEX}; console.log(openKernel().reason);`], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), 'bpf() was refused with EPERM: it needs root or CAP_BPF', r.stderr);
});
