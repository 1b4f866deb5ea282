import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { walkFraction } from '../../src/cli/progress.js';
import { BpfMap } from '../../src/map/map.js';
import { CLI, runMain, tool } from '../helpers/cli.js';
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
    const piped = await runMain(['dump', 'id', String(map.id)]);
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, '', 'no bar on a pipe');
    assert.equal(piped.stdout.split('\n').length - 1, 50_000);
  });

  test('mid-walk, while a slow reader holds the output back, the bar is part-way with a count of entries; then 100% and the terminal is fine', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    const n = 300_000;
    using map = bigMap(n);
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-progress-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // The reader takes the first megabyte, then stops reading until the test opens the gate:
    // the dump blocks on the full pipe part-way, however fast or slow the machine is.
    const gate = join(dir, 'gate');
    execFileSync('mkfifo', [gate]);
    using term = new Tmux(tmux);
    term.type(`node ${CLI} dump id ${map.id} | (head -c 1000000 > /dev/null; read g < ${gate}; wc -l); echo EXIT=\${PIPESTATUS[0]}`);
    const mid = await term.waitFor(/^dump \[[█░]{30}\] +([1-9]|[1-9][0-9])% \| [1-9]\d* entries/m);
    const [, pct, entries] = /^dump \[[█░]{30}\] +(\d+)% \| (\d+) entries/m.exec(mid) as RegExpExecArray;
    assert.ok(Number(pct) > 0 && Number(pct) < 100, `part-way: ${pct}%`);
    assert.ok(Number(entries) > 0 && Number(entries) < n, `part of the entries: ${entries}`);
    assert.doesNotMatch(mid, /EXIT=\d/, 'still running');
    await writeFile(gate, 'go\n');
    const end = await term.waitFor(/EXIT=\d+/);
    assert.match(end, /EXIT=0/);
    assert.match(end, new RegExp(`^dump \\[█{30}\\] 100% \\| ${n} entries \\| \\d+s$`, 'm'));
    // Lines the reader counted after the gate: the rest of the dump arrived whole.
    const counted = Number(/^ *(\d+)$/m.exec(end)?.[1]);
    assert.ok(counted > 0 && counted < n, `the reader counted ${counted} lines after the first megabyte`);
    assert.equal(term.flag('alternate_on'), '0');
    assert.equal(term.flag('cursor_flag'), '1', 'cursor visible');
    term.type('echo READY');
    await term.waitFor(/^READY$/m);
    // A reader that goes away early: the bar shows how far the walk got, on a line of its own.
    term.type(`clear; node ${CLI} dump id ${map.id} | head -c 1000000 > /dev/null; echo CLOSED=$?`);
    const closed = await term.waitFor(/CLOSED=\d/);
    const [, cpct, centries] = /^dump \[[█░]{30}\] +(\d+)% \| (\d+) entries \| \d+s\nCLOSED=0$/m.exec(closed) ?? assert.fail(`a bar, then CLOSED=0 on the next line:\n${closed}`);
    assert.ok(Number(cpct) > 0 && Number(cpct) < 100, `part-way: ${cpct}%`);
    assert.ok(Number(centries) > 0 && Number(centries) < n, `part of the entries: ${centries}`);
  });

  test('no bar when stdout is the terminal too: the table rows stay whole', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = bigMap(20_000);
    using term = new Tmux(tmux);
    term.type(`node ${CLI} dump id ${map.id} --batch 100; echo EXIT=$?`);
    const s = await term.waitFor(/^EXIT=\d+$/m);
    assert.match(s, /^EXIT=0$/m);
    const shown = s.split('\n');
    const rows = shown.slice(0, shown.findIndex((l) => l.startsWith('EXIT=')));
    assert.ok(rows.length >= 30, `the screen is full of rows (${rows.length})`);
    for (const row of rows) assert.match(row, /^[0-9a-f]{8} {2}0{16}$/, 'an entry row, nothing drawn over it');
  });

  test('drain into an output that closes early: the bar ends its line where the drain stopped, then the put-back is said on a line of its own', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    const n = 50_000;
    using map = bigMap(n);
    // Wide enough for the put-back line not to wrap.
    using term = new Tmux(tmux, 250);
    term.type(`clear; node ${CLI} drain id ${map.id} | head -c 300000 > /dev/null; echo EXIT=\${PIPESTATUS[0]}`);
    const s = await term.waitFor(/^EXIT=\d+$/m);
    const [, pct, written] = /^drain \[[█░]{30}\] +(\d+)% \| [1-9]\d* entries \| \d+s\nbpfmap drain: the output closed after (\d+) entries were written; \d+ entries drained but not written were put back into id \d+\nEXIT=1$/m.exec(s)
      ?? assert.fail(`the bar, the put-back and the exit code on lines of their own:\n${s}`);
    assert.ok(Number(pct) < 100, `part-way: ${pct}%`);
    assert.equal(map.dump().count, n - Number(written), 'the entries head took are gone, the rest are back');
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
