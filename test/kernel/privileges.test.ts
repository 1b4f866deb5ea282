import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
