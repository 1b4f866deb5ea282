import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { walkFraction } from '../../src/cli/progress.js';
import { BpfMap } from '../../src/map/map.js';
import { CLI, runCli, tool } from '../helpers/cli.js';
import { LINUX, linuxAvailable, u32 } from '../helpers/kernel.js';
import { Tmux } from '../helpers/tmux.js';

function bigMap(n: number): BpfMap {
  const map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: n });
  const keys = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 4);
  map.updateBatch({ keys, values: Buffer.alloc(n * 8) });
  return map;
}

describe('dump progress', () => {
  test('a bar on stderr when it is a terminal, finishing at 100%; none when piped or with --no-progress', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = bigMap(50_000);
    using term = new Tmux(tmux);
    term.type(`node ${CLI} dump id ${map.id} --batch 500 > /dev/null; echo EXIT=$?`);
    const s = await term.waitFor(/EXIT=\d/);
    assert.match(s, /EXIT=0/);
    assert.match(s, /^dump \[[█]{30}\] 100% \| 50000 entries \| \d+s$/m);
    term.type(`node ${CLI} dump id ${map.id} --no-progress > /dev/null; echo EXIT2=$?`);
    const s2 = await term.waitFor(/EXIT2=\d/);
    assert.equal(s2.match(/100%/g)?.length, 1, 'no second bar');
    const piped = await runCli(['dump', 'id', String(map.id)]);
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, '', 'no bar on a pipe');
    assert.equal(piped.stdout.split('\n').length - 1, 50_000);
  });

  test('a hash walk is as far as its bucket cursor; an array walk as its last index', (t) => {
    if (!linuxAvailable(t)) return;
    using hash = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1000 });
    using array = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1000 });
    assert.equal(walkFraction(hash, 10, u32(256)), 256 / 1024, '1024 buckets for 1000 entries');
    assert.equal(walkFraction(array, 500, u32(499)), 0.5);
    assert.equal(walkFraction(hash, 500, undefined), 0.5, 'per-element walks count entries');
    assert.equal(walkFraction(hash, 5000, undefined), 0.99, 'never done before the end');
  });
});
