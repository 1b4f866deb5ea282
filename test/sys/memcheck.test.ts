import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { linuxAvailable } from '../helpers/kernel.js';
import { tool } from '../helpers/cli.js';

const workload = new URL('../../scripts/memcheck-workload.js', import.meta.url).pathname;
// dist/test/sys -> the repository's scripts/ (the suppression file is not compiled).
const suppressions = new URL('../../../scripts/memcheck.supp', import.meta.url).pathname;
const valgrind = (args: string[]) =>
  spawnSync('valgrind', ['--error-exitcode=9', '--undef-value-errors=no', `--suppressions=${suppressions}`, process.execPath, '--expose-gc', workload, ...args], {
    encoding: 'utf8',
    timeout: 600_000,
  });

test('under valgrind, every bpf() path of the library touches only addressable buffers', (t) => {
  if (!linuxAvailable(t) || !tool(t, 'valgrind')) return;
  const clean = valgrind([]);
  assert.equal(clean.signal, null, `valgrind did not finish (killed by ${clean.signal}): a loaded machine runs it 20x slower than node`);
  assert.equal(clean.status, 0, `memcheck found errors:\n${clean.stderr.split('\n').filter((l) => /Invalid|unaddressable|uninitialised|at 0x|by 0x/.test(l)).slice(0, 30).join('\n')}`);
  assert.match(clean.stdout, /memcheck workload done/);
  assert.match(clean.stderr, /ERROR SUMMARY: 0 errors/);
  // The same checker, shown a kernel write past a buffer (the addon lied to on purpose), reports it
  // before the syscall. The write then really happens and may corrupt valgrind's own heap records,
  // so valgrind can abort afterwards instead of exiting with the error code: the report is the proof.
  const canary = valgrind(['--canary']);
  assert.notEqual(canary.status, 0, 'the overrun is not passed over');
  assert.match(canary.stderr, /Syscall param bpf\(attr->value\) points to unaddressable byte/);
});
