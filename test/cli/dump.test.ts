import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { u32 as u32Codec, u64 as u64Codec } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';
import { BpfMap } from '../../src/map/map.js';
import { spawn } from 'node:child_process';
import { CLI, lines, runMain, tool } from '../helpers/cli.js';
import { LINUX, linuxAvailable, u32 } from '../helpers/kernel.js';
import { Tmux } from '../helpers/tmux.js';
import { closeFixture, fixture, type FixtureType } from '../helpers/maps.js';

interface Entry {
  key: string;
  value?: string;
  values?: string[];
}

/** The fixture's comparable text of a printed entry: key hex = value hex (per-CPU: joined by |). */
function text(e: Entry): string {
  return `${e.key}=${e.values ? e.values.join('|') : e.value}`;
}

function parseCsv(out: string): Entry[] {
  const [head, ...rows] = lines(out);
  const cols = (head as string).split(',');
  return rows.map((r) => {
    const cells = r.split(',');
    const at = (c: string): string => cells[cols.indexOf(c)] as string;
    const cpus = cols.filter((c) => c.startsWith('values['));
    return cpus.length ? { key: at('key'), values: cpus.map(at) } : { key: at('key'), value: at('value') };
  });
}

function parseTable(out: string): Entry[] {
  const [head, rule, ...rows] = lines(out);
  assert.match(rule as string, /^-+( +-+)+$/, 'a rule under the header');
  const cols = (head as string).trim().split(/ +/);
  return rows.map((r) => {
    const cells = r.trim().split(/ +/);
    const cpus = cols.filter((c) => c.startsWith('values['));
    return cpus.length ? { key: cells[0] as string, values: cells.slice(1) } : { key: cells[0] as string, value: cells[1] as string };
  });
}

function parse(format: string, out: string): Entry[] {
  switch (format) {
    case 'json':
      return JSON.parse(out) as Entry[];
    case 'ndjson':
      return lines(out).map((l) => JSON.parse(l) as Entry);
    case 'csv':
      return parseCsv(out);
    default:
      return parseTable(out);
  }
}

const TYPES: FixtureType[] = ['hash', 'percpu_hash', 'array', 'percpu_array', 'lru_hash', 'lpm_trie'];

/** bpftool's JSON entry as the same comparable text: byte lists become hex. */
function bpftoolText(e: { key: string[]; value?: string[]; values?: Array<{ cpu: number; value: string[] }> }): string {
  const hex = (b: string[]): string => b.map((x) => x.slice(2)).join('');
  return `${hex(e.key)}=${e.values ? e.values.map((v) => hex(v.value)).join('|') : hex(e.value as string[])}`;
}

describe('bpfmap dump', () => {
  test('every format prints every entry of every iterable map type (per-CPU: each CPU)', async (t) => {
    if (!linuxAvailable(t)) return;
    for (const type of TYPES) {
      const f = fixture(LINUX.kernel(), type, 30);
      try {
        // Every type in the JSON formats; the tabular ones flatten the same values, two types suffice.
        const formats = type === 'hash' || type === 'percpu_hash' ? ['json', 'ndjson', 'csv', 'table'] : ['json', 'ndjson'];
        const runs = await Promise.all(formats.map((format) => runMain(['dump', 'id', String(f.map.id), '--format', format, '--percpu', 'each'])));
        for (const [i, r] of runs.entries()) {
          const format = formats[i] as string;
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stderr, '');
          const got = parse(format, r.stdout).map(text);
          assert.equal(got.length, f.expected.size, `${type} ${format}: each entry once`);
          assert.deepEqual(new Set(got), f.expected, `${type} ${format}`);
        }
      } finally {
        closeFixture(f);
      }
    }
  });

  test('dump --format json has the same entries as bpftool map dump -j', async (t) => {
    if (!linuxAvailable(t)) return;
    const bpftool = tool(t, 'bpftool');
    if (!bpftool) return;
    const { execFileSync } = await import('node:child_process');
    for (const type of ['hash', 'percpu_hash', 'array', 'percpu_array'] as const) {
      const f = fixture(LINUX.kernel(), type, 50);
      try {
        const ours = await runMain(['dump', 'id', String(f.map.id), '--format', 'json']);
        assert.equal(ours.code, 0, ours.stderr);
        const theirs = JSON.parse(execFileSync(bpftool, ['map', 'dump', 'id', String(f.map.id), '-j'], { encoding: 'utf8' })) as Parameters<typeof bpftoolText>[0][];
        const mine = (JSON.parse(ours.stdout) as Entry[]).map(text).sort();
        assert.deepEqual(mine, theirs.map(bpftoolText).sort(), type);
        assert.equal(mine.length, f.expected.size);
      } finally {
        closeFixture(f);
      }
    }
  });

  test('a terminal gets a table by default', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmux = tool(t, 'tmux');
    if (!tmux) return;
    const f = fixture(LINUX.kernel(), 'array', 3);
    try {
      using term = new Tmux(tmux);
      term.type(`node ${CLI} dump id ${f.map.id}; echo EXIT=$?`);
      const s = await term.waitFor(/EXIT=\d/);
      assert.match(s, /^key {7}value\n-{8} {2}-{16}\n00000000 {2}[0-9a-f]{16}\n01000000 {2}[0-9a-f]{16}\n02000000 {2}[0-9a-f]{16}\nEXIT=0/m);
    } finally {
      closeFixture(f);
    }
  });

  test('piped output defaults to ndjson; --limit, --batch and --walk', async (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'hash', 40);
    try {
      const id = String(f.map.id);
      const piped = await runMain(['dump', 'id', id]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(new Set(lines(piped.stdout).map((l) => text(JSON.parse(l) as Entry))), f.expected);
      const limited = await runMain(['dump', 'id', id, '--limit', '7', '--batch', '3']);
      assert.equal(lines(limited.stdout).length, 7);
      for (const l of lines(limited.stdout)) assert.ok(f.expected.has(text(JSON.parse(l) as Entry)));
      for (const walk of ['batch', 'per-element']) {
        const r = await runMain(['dump', 'id', id, '--walk', walk, '--batch', '1']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(new Set(lines(r.stdout).map((l) => text(JSON.parse(l) as Entry))), f.expected, walk);
      }
      const bad = await runMain(['dump', 'id', id, '--batch', '0']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--batch/);
    } finally {
      closeFixture(f);
    }
  });

  test('per-CPU values default to each CPU in every --format, as --help says; load restores the json and ndjson exactly', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    using map = BpfMap.create({ kernel, type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    const per = Array.from({ length: map.cpus }, (_, c) => Buffer.from(BigUint64Array.of(BigInt(c + 1) * 1000n).buffer));
    map.set(u32(7), per);
    const hex = per.map((b) => b.toString('hex'));
    const columns = hex.map((_, c) => `values[${c}]`);
    const [table, json, ndjson, csv, help] = await Promise.all([
      ...['table', 'json', 'ndjson', 'csv'].map((format) => runMain(['dump', 'id', String(map.id), '--format', format])),
      runMain(['dump', '--help']),
    ]);
    assert.deepEqual((table?.stdout.split('\n')[0] ?? '').trim().split(/\s+/), ['key', ...columns]);
    assert.deepEqual((table?.stdout.split('\n')[2] ?? '').trim().split(/\s+/), ['07000000', ...hex]);
    assert.deepEqual(JSON.parse(json?.stdout ?? ''), [{ key: '07000000', values: hex }]);
    assert.deepEqual(lines(ndjson?.stdout ?? '').map((l) => JSON.parse(l)), [{ key: '07000000', values: hex }]);
    assert.deepEqual(lines(csv?.stdout ?? ''), [['key', ...columns].join(','), ['07000000', ...hex].join(',')]);
    assert.match((help?.stdout ?? '').replace(/\s+/g, ' '), /per-CPU maps, in every --format: each \(default: a "values" list/);
    for (const out of [json, ndjson]) {
      using copy = BpfMap.create({ kernel, type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 8 });
      const loaded = await runMain(['load', 'id', String(copy.id)], { input: out?.stdout ?? '' });
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.deepEqual(copy.get(u32(7)), per);
    }
  });

  test('--percpu sum adds the CPUs lane by lane; an empty map is an empty JSON array', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_hash', keySize: 4, valueSize: 16, maxEntries: 8 });
    using empty = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 });
    const perCpu = Array.from({ length: map.cpus }, (_, c) => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64LE(BigInt(c + 1) * 1000n, 0);
      b.writeBigUInt64LE(0xffffffffffffffffn, 8); // wraps like the u64 counters it stands for
      return b;
    });
    map.set(u32(5), perCpu);
    const r = await runMain(['dump', 'id', String(map.id), '--percpu', 'sum', '--format', 'ndjson']);
    assert.equal(r.code, 0, r.stderr);
    const sum = Buffer.alloc(16);
    sum.writeBigUInt64LE(BigInt((map.cpus * (map.cpus + 1)) / 2) * 1000n, 0);
    sum.writeBigUInt64LE((0xffffffffffffffffn * BigInt(map.cpus)) & 0xffffffffffffffffn, 8);
    assert.deepEqual(lines(r.stdout).map((l) => JSON.parse(l)), [{ key: '05000000', value: sum.toString('hex') }]);
    const e = await runMain(['dump', 'id', String(empty.id), '--format', 'json']);
    assert.deepEqual(JSON.parse(e.stdout), []);
  });

  test('streams: a map whose JSON is larger than the whole JS heap still dumps', async (t) => {
    if (!linuxAvailable(t)) return;
    const n = 300_000;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 16, valueSize: 16, maxEntries: n });
    const keys = Buffer.alloc(n * 16);
    for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 16);
    map.updateBatch({ keys, values: Buffer.alloc(n * 16, 0xab) });
    // 86 bytes of JSON per entry: about 26 MB of text, under a 16 MB heap.
    const child = spawn(process.execPath, ['--max-old-space-size=16', CLI, 'dump', 'id', String(map.id), '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let newlines = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      for (const c of b) if (c === 10) newlines++;
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(newlines, n + 2, 'the brackets and one line per entry');
    assert.ok(bytes > 16 * 2 ** 20, `${bytes} bytes of JSON`);
  });

  test('maps with BTF: keys and values decoded, the same as bpftool\'s formatted dump; --hex for the bytes', async (t) => {
    if (!linuxAvailable(t)) return;
    const bpftool = tool(t, 'bpftool');
    if (!bpftool) return;
    const { execFileSync } = await import('node:child_process');
    const kernel = LINUX.kernel();
    const stats = struct({ packets: u64Codec, bytes: u64Codec }, { name: 'stats' });
    using flows = BpfMap.create({ kernel, type: 'hash', key: flowKey, value: flowStats, maxEntries: 64, btf: true });
    using counts = BpfMap.create({ kernel, type: 'percpu_hash', key: u32Codec, value: perCpu(stats), maxEntries: 64, btf: true });
    for (let i = 0; i < 40; i++) {
      flows.set({ saddr: `10.0.0.${i}`, daddr: '192.168.1.1', sport: 1000 + i, dport: 443, proto: 6 }, { packets: BigInt(i), bytes: BigInt(i * 1500) });
      counts.set(i, Array.from({ length: counts.cpus }, (_, c) => ({ packets: BigInt(i + c), bytes: BigInt(i * 100 + c) })));
    }
    type Formatted = { formatted: { key: unknown; value?: unknown; values?: Array<{ cpu: number; value: unknown }> } };
    // bpftool prints __be32/__be16 as host-order numbers; bpfmap shows the addresses and ports they hold.
    const host = (n: number, size: number): Buffer => {
      const b = Buffer.alloc(size);
      b.writeUIntLE(n, 0, size);
      return b;
    };
    const readable = (k: unknown): unknown => {
      if (typeof k !== 'object' || k === null || !('saddr' in k)) return k;
      const f = k as Record<string, number>;
      const ip = (n: number): string => [...host(n, 4)].join('.');
      return { ...f, saddr: ip(f.saddr as number), daddr: ip(f.daddr as number), sport: host(f.sport as number, 2).readUInt16BE(0), dport: host(f.dport as number, 2).readUInt16BE(0) };
    };
    const theirs = (id: number): string[] =>
      (JSON.parse(execFileSync(bpftool, ['map', 'dump', 'id', String(id), '-j'], { encoding: 'utf8' })) as Formatted[])
        .map(({ formatted: f }) => JSON.stringify(f.values ? { key: f.key, values: f.values.map((v) => v.value) } : { ...f, key: readable(f.key) })).sort();
    for (const map of [flows, counts]) {
      const ours = await runMain(['dump', 'id', String(map.id), '--format', 'json']);
      assert.equal(ours.code, 0, ours.stderr);
      const mine = (JSON.parse(ours.stdout) as unknown[]).map((e) => JSON.stringify(e)).sort();
      assert.equal(mine.length, 40);
      assert.deepEqual(mine, theirs(map.id), map.typeName);
    }
    const summed = await runMain(['dump', 'id', String(counts.id), '--percpu', 'sum', '--format', 'ndjson']);
    const three = lines(summed.stdout).map((l) => JSON.parse(l) as { key: number; value: { packets: number; bytes: number } }).find((e) => e.key === 3);
    const n = counts.cpus;
    assert.deepEqual(three?.value, { packets: 3 * n + (n * (n - 1)) / 2, bytes: 300 * n + (n * (n - 1)) / 2 });
    const hex = await runMain(['dump', 'id', String(flows.id), '--hex', '--limit', '1']);
    assert.match(hex.stdout, /^\{"key":"0a0000[0-9a-f]{2}c0a80101[0-9a-f]{4}01bb06000000","value":"[0-9a-f]{32}"\}\n$/);
  });
});
