import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runMain, tool } from '../helpers/cli.js';
import { ExporterProcess } from '../helpers/exporter.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

test('bpfmap export usage errors exit 2 with one line', async (t) => {
  if (!linuxAvailable(t)) return;
  const cases: [string[], RegExp][] = [
    [[], /give --config FILE or --maps/],
    [['--maps', '--config', 'x.yaml'], /give --config FILE or --maps/],
    [['--maps', '--listen', 'nowhere'], /--listen: expected HOST:PORT/],
    [['--config', '/nonexistent/x.yaml'], /cannot read --config \/nonexistent\/x\.yaml/],
    [['--maps', '--once', '--format', 'xml'], /--format must be text or openmetrics/],
  ];
  for (const [args, re] of cases) {
    const r = await runMain(['export', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /^bpfmap export: .*\(see bpfmap export --help\)\n$/s);
  }
  const once = await runMain(['export', '--maps', '--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stdout, /^# HELP bpfmap_map_max_entries /);
});

test('bpfmap export --once: a config that does not parse, or does not fit its map, exits 2 pointing at the line', async (t) => {
  if (!linuxAvailable(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
  m.set(Buffer.from([1, 0, 0, 0]), Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, `metrics:\n  - name: x_total\n    help: X.\n    type: counter\n    map: id ${m.id}\n    labels: [{ name: k, offset: 0, decoder: ipv6 }]\n`);
  const r = await runMain(['export', '--config', file, '--once']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^bpfmap export: ${file}:6:14: metrics\\[0\\]\\.labels\\[0\\]: label "k" at offset 0, 16 bytes, is past the end of map id ${m.id}'s 4-byte key`));
  writeFileSync(file, 'metrics:\n  - name: x_total\n    hlep: X.\n    type: counter\n    map: id 1\n');
  const bad = await runMain(['export', '--config', file, '--once']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `bpfmap export: invalid config:\n  ${file}:3:5: metrics[0].hlep: unknown field (expected one of: name, help, type, map, labels, value, bucket, percpu, max_series)\n  ${file}:2:5: metrics[0].help: missing (see bpfmap export --help)\n`);
  writeFileSync(file, `metrics:\n  - { name: x_total, help: X., type: counter, map: id ${m.id}, labels: [{ name: k, offset: 0, size: 4 }] }\n`);
  const ok = await runMain(['export', '--config', file, '--once', '--format', 'openmetrics']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^# HELP x X\.\n# TYPE x counter\nx_total\{k="1"\} 5\n/);
  assert.ok(ok.stdout.endsWith('# EOF\n'));
});

test('bpfmap export --once exits 1 when no map could be read, 0 when some could (the failures on stderr and in errors_total)', async (t) => {
  if (!linuxAvailable(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-once-'));
  const gone = pinPath('export-once-gone');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const file = join(dir, 'c.yaml');
  const metric = (name: string, map: string): string => `  - { name: ${name}, help: X., type: gauge, map: ${map} }\n`;
  writeFileSync(file, `metrics:\n${metric('a', `pinned ${gone}`)}${metric('b', 'name no_such_map_here')}`);
  const none = await runMain(['export', '--config', file, '--once']);
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, new RegExp(`^bpfmap export: pinned ${gone}: .*ENOENT`, 'm'));
  assert.match(none.stderr, new RegExp(`^bpfmap export: no map could be read \\(pinned ${gone}, name no_such_map_here\\)`, 'm'));
  assert.match(none.stdout, new RegExp(`^bpfmap_export_errors_total\\{map="pinned ${gone}"\\} 1$`, 'm'));
  assert.doesNotMatch(none.stdout, /^bpfmap_export_entries\{/m);

  writeFileSync(file, `metrics:\n${metric('a', `pinned ${gone}`)}${metric('b', `id ${m.id}`)}`);
  const some = await runMain(['export', '--config', file, '--once']);
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stderr, new RegExp(`^bpfmap export: pinned ${gone}: .*ENOENT`, 'm'));
  assert.match(some.stdout, /^b 0$/m);
  assert.match(some.stdout, new RegExp(`^bpfmap_export_errors_total\\{map="pinned ${gone}"\\} 1$`, 'm'));
  assert.match(some.stdout, new RegExp(`^bpfmap_export_entries\\{map="id ${m.id}"\\} 1$`, 'm'));
});

test('bpfmap export keeps --max-connections below the open-file limit', async (t) => {
  const prlimit = tool(t, 'prlimit');
  if (!prlimit) return;
  const ex = await ExporterProcess.start(['--maps', '--kernel', 'emulated', '--max-connections', '500'], [prlimit, '--nofile=100:100']);
  t.after(() => ex.stop());
  assert.match(ex.stderr, /^bpfmap export: --max-connections lowered to 68: the open-file limit is 100 \(raise it with ulimit -n\)$/m);
  assert.equal((await ex.scrape()).status, 200);
});

/** Waits (bounded) until the exporter has logged a line matching re. */
async function logged(exp: ExporterProcess, re: RegExp): Promise<void> {
  for (let i = 0; i < 500 && !re.test(exp.stderr); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(exp.stderr, re);
}

test('bpfmap export serves process_* metrics; SIGHUP reloads the config, keeping the last good one; SIGTERM logs and exits 0', async (t) => {
  if (!linuxAvailable(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-signals-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const file = join(dir, 'c.yaml');
  const config = (name: string): string => `metrics:\n  - { name: ${name}, help: X., type: gauge, map: id ${m.id} }\n`;
  writeFileSync(file, config('first'));
  const exp = await ExporterProcess.start(['--config', file]);
  t.after(() => exp.stop());
  const one = (await exp.scrape()).body;
  assert.match(one, /^first 0$/m);
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'process_start_time_seconds'])
    assert.match(one, new RegExp(`^${name} [0-9.e+]+$`, 'm'));

  writeFileSync(file, 'metrics:\n  - { name: 9bad, help: X., type: gauge, map: id 1 }\n');
  exp.proc.kill('SIGHUP');
  await logged(exp, /^bpfmap export: SIGHUP: \S+ not reloaded, the last good config goes on serving: .*9bad/m);
  assert.match((await exp.scrape()).body, /^first 0$/m, 'the last good config still serves');

  writeFileSync(file, config('second'));
  exp.proc.kill('SIGHUP');
  await logged(exp, /^bpfmap export: SIGHUP: reloaded \S+: 1 metric from 1 map$/m);
  const two = (await exp.scrape()).body;
  assert.match(two, /^second 0$/m);
  assert.doesNotMatch(two, /^first /m);

  assert.equal(await exp.stop(), 0);
  assert.match(exp.stderr, /^bpfmap export: SIGTERM: stopping/m);
});
