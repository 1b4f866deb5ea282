import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { namedFieldReader } from '../../src/cli/value-field.js';
import { Watcher } from '../../src/cli/watch.js';
import { u32 as u32Codec, u64 as u64Codec } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';
import { BpfMap } from '../../src/map/map.js';
import { CLI, runMain, tool } from '../helpers/cli.js';
import { LINUX, linuxAvailable, u32, u64 } from '../helpers/kernel.js';
import { Tmux } from '../helpers/tmux.js';

/** The terminal is back to normal: main screen, cursor shown, line editing and echo on. */
async function restored(term: Tmux): Promise<void> {
  assert.equal(term.flag('alternate_on'), '0', 'left the alternate screen');
  assert.equal(term.flag('cursor_flag'), '1', 'cursor visible');
  term.type("stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo STTY");
  const s = await term.waitFor(/^icanon echo STTY/m);
  assert.match(s, /^icanon echo STTY/m, 'cooked mode');
}

describe('bpfmap watch', () => {
  test('shows the top entries by value with rates, count and read time; q quits and restores the terminal', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 16, maxEntries: 64 });
    for (let i = 1; i <= 30; i++) map.set(u32(i), Buffer.concat([u64(i), u64(i * 1000)]));
    using term = new Tmux(tmux);
    term.type(`node ${CLI} watch id ${map.id} --top 5 --field u64@8 --interval 0.2; echo EXIT=$?`);
    let s = await term.waitFor(/entries 30 +read [0-9.]+ ms \(batch\)/);
    assert.equal(term.flag('alternate_on'), '1', 'draws on the alternate screen');
    assert.match(s, /bpfmap watch {2}id \d+ \(id \d+, hash\) {2}every 0\.2s {2}\(q to quit\)/);
    assert.match(s, /total u64@8 465,000/);
    const rows = (): string[][] => term.screen().split('\n').filter((l) => /^ +\d+ {2}[0-9a-f]{8} /.test(l)).map((l) => l.trim().split(/ +/));
    assert.deepEqual(rows().map((r) => r.slice(0, 3)), [30, 29, 28, 27, 26].map((k, i) => [String(i + 1), u32(k).toString('hex'), (k * 1000).toLocaleString('en-US')]));
    // A counter that moves: its rate shows, and it climbs to the top.
    map.set(u32(7), Buffer.concat([u64(7), u64(10_000_000)]));
    s = await term.waitFor(/^ +1 {2}07000000 +10,000,000 +[0-9,.]+$/m);
    await term.waitFor(/^ +1 {2}07000000 +10,000,000 +0\.0$/m); // and stops moving on the next read
    map.set(u32(7), Buffer.concat([u64(7), u64(20_000_000)]));
    s = await term.waitFor(/^ +1 {2}07000000 +20,000,000 +[1-9][0-9,]*\.\d$/m);
    assert.match(s, /total u64@8 20,458,000 +[0-9,.]+\/s/);
    term.keys('q');
    await term.waitFor(/EXIT=0/);
    assert.doesNotMatch(term.screen(), /entries 30/, 'the watch screen is gone');
    await restored(term);
  });

  test('a map with BTF: fields by name, keys decoded', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key: flowKey, value: flowStats, maxEntries: 16, btf: true });
    for (let i = 1; i <= 5; i++) map.set({ saddr: `10.0.0.${i}`, daddr: '10.0.0.99', sport: i, dport: 53, proto: 17 }, { packets: BigInt(100 - i), bytes: BigInt(i * 1000) });
    using term = new Tmux(tmux, 160);
    term.type(`node ${CLI} watch id ${map.id} --field bytes --top 2; echo EXIT=$?`);
    const s = await term.waitFor(/entries 5 /);
    assert.match(s, /total bytes 15,000/);
    assert.match(s, /KEY +BYTES +RATE\/s/);
    assert.match(s, /^ +1 {2}\{"saddr":"10\.0\.0\.5","daddr":"10\.0\.0\.99","sport":5,"dport":53,"proto":17\} +5,000 /m);
    term.keys('q');
    await term.waitFor(/EXIT=0/);
    const bad = await runMain(['watch', 'id', String(map.id), '--field', 'drops']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--field drops is not a numeric field of struct flow_stats \(fields: packets, bytes\)/);
  });

  test('Ctrl-C quits too and restores the terminal; without a terminal watch is a usage error', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4 });
    using term = new Tmux(tmux);
    term.type(`node ${CLI} watch id ${map.id}; echo EXIT=$?`);
    await term.waitFor(/entries 4 /);
    term.keys('C-c');
    await term.waitFor(/EXIT=0/);
    await restored(term);
    const piped = await runMain(['watch', 'id', String(map.id)]);
    assert.equal(piped.code, 2);
    assert.match(piped.stderr, /watch draws on a terminal, and stdout is not one/);
  });

  test('SIGTERM and SIGHUP quit like q: the terminal is restored and the exit code is 0', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16 });
    for (let i = 1; i <= 3; i++) map.set(u32(i), u64(i));
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-watch-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    using term = new Tmux(tmux);
    for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
      const pidFile = join(dir, signal);
      // The shell writes its pid and execs the CLI in its place: that pid is the watch, and only it is signalled.
      term.type(`clear; sh -c 'echo $$ > ${pidFile}; exec node "$0" watch id ${map.id} --interval 0.1' ${CLI}; echo ${signal}_EXIT=$?`);
      await term.waitFor(/entries 3 +read/);
      assert.equal(term.flag('alternate_on'), '1');
      assert.equal(term.flag('cursor_flag'), '0', 'the cursor is hidden while watch draws');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), new RegExp(`watch\0id\0${map.id}\0`), 'the pid is the watch we started');
      process.kill(pid, signal);
      const s = await term.waitFor(new RegExp(`^${signal}_EXIT=\\d+$`, 'm'));
      assert.match(s, new RegExp(`^${signal}_EXIT=0$`, 'm'));
      assert.doesNotMatch(s, /entries 3 +read/, 'the watch screen is gone');
      await restored(term);
    }
    const help = await runMain(['watch', '--help']);
    assert.match(help.stdout, /so do SIGTERM and SIGHUP, with exit code 0/, 'the help documents it');
  });

  test('fields by name through codecs: per-CPU sums, default first number, unknown names listed; rates from deltas', async (t) => {
    if (!linuxAvailable(t)) return;
    const stats = struct({ packets: u64Codec, bytes: u64Codec }, { name: 'stats' });
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_hash', key: u32Codec, value: perCpu(stats), maxEntries: 8 });
    const elem = map.cpuCodec as typeof stats;
    for (let k = 1; k <= 3; k++) map.set(k, Array.from({ length: map.cpus }, () => ({ packets: BigInt(k), bytes: BigInt(k * 100) })));
    assert.equal(namedFieldReader(map, elem, undefined).name, 'packets');
    assert.throws(() => namedFieldReader(map, elem, 'drops'), /--field drops is not a numeric field of struct stats \(fields: packets, bytes\)/);
    const bytes = namedFieldReader(map, elem, 'bytes');
    const w = new Watcher(map, bytes.read, 2, 'value', 16, (b, o) => String(b.readUInt32LE(o)));
    const first = w.read();
    assert.equal(first.count, 3);
    assert.equal(first.total, 600 * map.cpus);
    assert.deepEqual(first.top.map((r) => [r.key, r.value, r.rate]), [['3', 300 * map.cpus, undefined], ['2', 200 * map.cpus, undefined]]);
    map.set(1, Array.from({ length: map.cpus }, () => ({ packets: 1n, bytes: 10_000n })));
    await new Promise((r) => setTimeout(r, 20));
    const second = w.read();
    assert.equal(second.top[0]?.key, '1');
    assert.ok((second.top[0]?.rate ?? 0) > 0, 'a rate from the delta');
    assert.equal(second.top[1]?.rate, 0, 'an unchanged counter has rate 0');
    assert.ok((second.totalRate ?? 0) > 0);
  });
});
