import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap, listMaps } from '../../src/map/map.js';
import { runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

/** An error is one line on stderr, naming the command. */
function oneLine(stderr: string, command: string): void {
  const ls = stderr.trimEnd().split('\n');
  assert.equal(ls.length, 1, stderr);
  assert.match(ls[0] as string, new RegExp(`^bpfmap ${command}: `));
}

const COMMANDS = ['list', 'show', 'dump', 'watch', 'drain', 'load', 'create', 'pin', 'delete-entries', 'demo'];

describe('bpfmap usage and selectors', () => {
  test('every command has --help with examples and the exit codes', async () => {
    const runs = await Promise.all(COMMANDS.map((c) => runMain([c, '--help'])));
    for (const [i, r] of runs.entries()) {
      assert.equal(r.code, 0, COMMANDS[i]);
      assert.match(r.stdout, new RegExp(`Usage: bpfmap ${COMMANDS[i]}`));
      assert.match(r.stdout, /Examples:\n {2}\$ bpfmap /, COMMANDS[i]);
      assert.match(r.stdout, /Exit codes: 0 ok, 1 runtime error .*, 2 usage error/, COMMANDS[i]);
    }
    const top = await runMain(['--help']);
    assert.equal(top.code, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`\\n  ${c} `));
  });

  test('usage errors exit 2 with one line that points at the help', async () => {
    const cases: Array<[string[], string, RegExp]> = [
      [['dump', 'idd', '3'], 'dump', /unknown map selector "idd": use id N, pinned PATH or name NAME/],
      [['dump', 'id', 'abc'], 'dump', /map id must be a positive integer, got "abc"/],
      [['dump', 'id', '0'], 'dump', /map id must be a positive integer/],
      [['show', 'id'], 'show', /"id" needs a value: id N, pinned PATH or name NAME/],
      [['dump', 'id', '1', '--format', 'xml'], 'dump', /--format must be one of table, json, ndjson, csv/],
      [['dump', 'id', '1', '--percpu', 'avg'], 'dump', /--percpu must be "sum" or "each"/],
      [['dump', 'id', '1', '--limit', '-1'], 'dump', /--limit/],
      [['list', '--kernel', 'bsd'], 'list', /--kernel must be "linux" or "emulated"/],
      [['dump', 'id', '1', '--bogus'], 'dump', /unknown option '--bogus'/],
      [['create', '/sys/fs/bpf/x', '--type', 'hash'], 'create', /required option '--max-entries <n>' not specified/],
      [['create', '/sys/fs/bpf/x', '--type', 'hash', '--max-entries', '4'], 'create', /give --key-size and --value-size, or the types: --key and --value/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runMain(args)));
    for (const [i, r] of runs.entries()) {
      const [args, command, message] = cases[i] as (typeof cases)[number];
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      oneLine(r.stderr, command);
      assert.match(r.stderr, message);
      assert.match(r.stderr, new RegExp(`see bpfmap ${command} --help`));
    }
    const none = await runMain([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: bpfmap/);
    const unknown = await runMain(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });

  test('missing maps exit 1 with the errno and a hint', async (t) => {
    if (!linuxAvailable(t)) return;
    const free = Math.max(0, ...listMaps(LINUX.kernel()).map((m) => m.id)) + 100_000;
    const path = pinPath('cli-missing');
    const [byId, byPath, byName] = await Promise.all([
      runMain(['dump', 'id', String(free)]),
      runMain(['show', 'pinned', path]),
      runMain(['dump', 'name', 'no_such_map_x']),
    ]);
    for (const [r, command, message] of [
      [byId, 'dump', new RegExp(`BPF_MAP_GET_FD_BY_ID on map id ${free} failed: ENOENT \\(no map has that id`)],
      [byPath, 'show', new RegExp(`BPF_OBJ_GET on map ${path} failed: ENOENT \\(nothing is pinned at that path\\)`)],
      [byName, 'dump', /no map is named "no_such_map_x" .*see bpfmap list/],
    ] as const) {
      assert.equal(r.code, 1, r.stderr);
      oneLine(r.stderr, command);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  test('selectors open the same map by id, pin and name; a shared name is an error', async (t) => {
    if (!linuxAvailable(t)) return;
    const name = `cli_sel_${process.pid % 100000}`;
    const path = pinPath('cli-sel');
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 2, name });
    map.pin(path);
    try {
      const runs = await Promise.all([['id', String(map.id)], ['pinned', path], ['name', name]].map((sel) => runMain(['show', ...sel, '--json'])));
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        assert.equal((JSON.parse(r.stdout) as { id: number }).id, map.id);
      }
      using twin = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 2, name });
      const r = await runMain(['show', 'name', name]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`2 maps are named "${name}" \\(ids ${Math.min(map.id, twin.id)}, ${Math.max(map.id, twin.id)}\\): open one by id`));
    } finally {
      (await import('node:fs')).rmSync(path, { force: true });
    }
  });
});
