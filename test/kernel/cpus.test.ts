import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkedPossibleCpus, countCpuList, possibleCpus } from '../../src/kernel/cpus.js';
import { linuxAvailable } from '../helpers/kernel.js';

test('countCpuList reads kernel CPU lists', () => {
  assert.equal(countCpuList('0\n'), 1);
  assert.equal(countCpuList('0-1\n'), 2);
  assert.equal(countCpuList('0-3,5,7-8'), 7);
  assert.throws(() => countCpuList('3-1'), /malformed/);
  assert.throws(() => countCpuList('a'), /malformed/);
  assert.throws(() => countCpuList(''), /empty/);
});

test('possibleCpus matches /sys/devices/system/cpu/possible', () => {
  const list = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
  assert.equal(possibleCpus(), countCpuList(list));
  assert.ok(possibleCpus() >= 1);
});

test('the kernel lays per-CPU values out for as many CPUs as sysfs lists', (t) => {
  if (!linuxAvailable(t)) return;
  assert.equal(checkedPossibleCpus(), possibleCpus());
});

/** Runs a script in a child whose possible-CPU list says `list`; returns what it printed. */
function withPossibleList(list: string, script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cpus-'));
  try {
    const file = join(dir, 'possible');
    writeFileSync(file, `${list}\n`);
    return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, BPFMAP_CPU_POSSIBLE_FILE: file },
      encoding: 'utf8',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('when the CPU list disagrees with the kernel, per-CPU maps are refused before any per-CPU call; others work', (t) => {
  if (!linuxAvailable(t)) return;
  const real = possibleCpus();
  // Under-reporting is the dangerous case (the kernel would write past buffers); over-reporting is refused too.
  const lists = real > 1 ? [`0-${real - 2}`, `0-${real}`] : [`0-${real}`];
  const linux = new URL('../../src/kernel/linux.js', import.meta.url).href;
  const map = new URL('../../src/map/map.js', import.meta.url).href;
  for (const list of lists) {
    const out = withPossibleList(list, `
      import { LinuxKernel } from ${JSON.stringify(linux)};
      import { BpfMap } from ${JSON.stringify(map)};
      const kernel = new LinuxKernel();
      const seen = [];
      const attempt = (what, f) => { try { f(); seen.push(what + ': ok'); } catch (e) { seen.push(what + ': ' + e.message); } };
      attempt('possibleCpus', () => kernel.possibleCpus());
      attempt('percpu_hash', () => BpfMap.create({ kernel, type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 }).close());
      attempt('percpu_array', () => BpfMap.create({ kernel, type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4 }).close());
      attempt('hash', () => { const m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 }); m.set(Buffer.alloc(4), Buffer.alloc(8)); m.close(); });
      console.log(JSON.stringify(seen));
    `);
    const seen = JSON.parse(out) as string[];
    const listed = countCpuList(list);
    for (const line of seen.slice(0, 3))
      assert.match(line, new RegExp(`refusing per-CPU map calls: .* lists ${listed} possible CPUs but the kernel lays per-CPU values out for ${real}`), `${list}: ${line}`);
    assert.equal(seen[3], 'hash: ok', list);
  }
});
