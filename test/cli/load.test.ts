import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { BpfMap } from '../../src/map/map.js';
import { runCli, runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable, u32, u64 } from '../helpers/kernel.js';
import { closeFixture, entryText, fixture } from '../helpers/maps.js';

type Raw = BpfMap;

function contents(map: Raw): string[] {
  const d = map.dump();
  return Array.from({ length: d.count }, (_, i) => entryText(d.key(i), d.value(i))).sort();
}

function hashMap(maxEntries: number, keySize = 4, valueSize = 8): Raw {
  return BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize, valueSize, maxEntries });
}

describe('bpfmap load', () => {
  test('dump | load restores a 100,000-entry map exactly', async (t) => {
    if (!linuxAvailable(t)) return;
    const n = 100_000;
    using src = hashMap(n, 16, 16);
    using dst = hashMap(n, 16, 16);
    const keys = randomBytes(n * 16);
    for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 16); // distinct keys
    assert.equal(src.updateBatch({ keys, values: randomBytes(n * 16) }), n);
    const dumped = await runMain(['dump', 'id', String(src.id), '--format', 'ndjson']);
    assert.equal(dumped.code, 0, dumped.stderr);
    const loaded = await runMain(['load', 'id', String(dst.id)], { input: dumped.stdout });
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /loaded 100000 entries/);
    const want = contents(src);
    assert.equal(want.length, n);
    assert.deepEqual(contents(dst), want);
  });

  test('the JSON format round-trips too, per-CPU values included', async (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'percpu_hash', 50);
    using dst = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_hash', keySize: 4, valueSize: 12, maxEntries: 64 });
    try {
      const dumped = await runMain(['dump', 'id', String(f.map.id), '--format', 'json']);
      const loaded = await runMain(['load', 'id', String(dst.id)], { input: dumped.stdout });
      assert.equal(loaded.code, 0, loaded.stderr);
      assert.deepEqual(new Set(contents(dst)), f.expected);
    } finally {
      closeFixture(f);
    }
  });

  const good = (k: number): string => JSON.stringify({ key: u32(k).toString('hex'), value: u64(k).toString('hex') });
  const malformed: Array<[string, string, RegExp]> = [
    ['bad JSON', [good(1), good(2), '{"key": "03000000", "value": '].join('\n'), /line 3: bad JSON/],
    ['a key of the wrong size', [good(1), '{"key":"010203","value":"0000000000000000"}'].join('\n'), /line 2: key of map id \d+: expected 4 bytes, got 3/],
    ['a value of the wrong size', [good(1), '{"key":"02000000","value":"00"}'].join('\n'), /line 2: value of map id \d+: expected 8 bytes, got 1/],
    ['an unknown field', [good(1), good(2), '{"key":"03000000","value":"0000000000000000","count":3}'].join('\n'), /line 3: unknown field "count"/],
    ['a missing value', [good(1), '{"key":"02000000"}'].join('\n'), /line 2: the entry has no "value"/],
    ['not hex', '{"key":"zz000000","value":"0000000000000000"}', /line 1: key of map id \d+: "zz000000" is not hex bytes/],
    ['a JSON array that is not entries', '[1, 2]', /entry 1: an entry must be an object/],
  ];
  for (const [what, input, message] of malformed) {
    test(`${what}: one clear line, exit 1, nothing written`, async (t) => {
      if (!linuxAvailable(t)) return;
      using map = hashMap(16);
      const r = await runMain(['load', 'id', String(map.id)], { input });
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /nothing was written \(0 entries applied\)/);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(map.dump().count, 0);
    });
  }

  test('a kernel error part-way says how many entries were applied', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = hashMap(5);
    const input = Array.from({ length: 8 }, (_, i) => good(i + 1)).join('\n');
    const r = await runMain(['load', 'id', String(map.id), '--batch', '3'], { input });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BPF_MAP_UPDATE_BATCH .*E2BIG/);
    assert.match(r.stderr, /5 of 8 entries were applied/);
    assert.equal(map.dump().count, 5);
  });

  test('maps with BTF: typed entries round-trip; a field the type lacks is an error naming it', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    const make = (): BpfMap<unknown, unknown> => BpfMap.create({ kernel, type: 'hash', key: flowKey, value: flowStats, maxEntries: 300, btf: true }) as BpfMap<unknown, unknown>;
    using src = make();
    using dst = make();
    for (let i = 0; i < 250; i++)
      (src as unknown as BpfMap<unknown, unknown>).set({ saddr: `10.1.0.${i}`, daddr: '10.2.0.1', sport: i, dport: 80, proto: 17 }, { packets: BigInt(i), bytes: 2n ** 62n + BigInt(i) });
    const dumped = await runMain(['dump', 'id', String(src.id), '--format', 'ndjson']);
    // Addresses shown as text and ports as numbers (the BTF's __be32/__be16) load back as they are.
    assert.match(dumped.stdout.split('\n')[0] as string, /^\{"key":\{"saddr":"10\.1\.0\.\d+","daddr":"10\.2\.0\.1","sport":\d+,"dport":80,"proto":17\},"value":\{"packets":\d+,"bytes":"\d+"\}\}$/);
    const loaded = await runMain(['load', 'id', String(dst.id)], { input: dumped.stdout });
    assert.equal(loaded.code, 0, loaded.stderr);
    const raw = (m: BpfMap<unknown, unknown>): string[] => {
      const d = m.dump();
      return Array.from({ length: d.count }, (_, i) => `${d.keys.toString('hex', i * 16, i * 16 + 16)}=${d.values.toString('hex', i * 16, i * 16 + 16)}`).sort();
    };
    assert.deepEqual(raw(dst), raw(src));
    using empty = make();
    const bad = await runMain(['load', 'id', String(empty.id)], {
      input: `${dumped.stdout.split('\n')[0]}\n{"key":{"saddr":1,"daddr":2,"sport":3,"dport":4,"proto":5},"value":{"packets":1,"bytez":2}}\n`,
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^bpfmap load: line 2: value of map id \d+: struct flow_stats has no field "bytez" \(fields: packets, bytes\); nothing was written \(0 entries applied\)\n$/);
    assert.equal(empty.dump().count, 0);
  });

  test('maps with BTF: a key field left out is refused (naming the line, the side, the field and the map); a value field only with --zero-fill-values', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    using map = BpfMap.create({ kernel, type: 'hash', key: flowKey, value: flowStats, maxEntries: 8, btf: true, name: 'load_missing' });
    const at = `map id ${map.id} "load_missing"`;
    const full = '{"key":{"saddr":1,"daddr":2,"sport":3,"dport":4,"proto":6},"value":{"packets":1,"bytes":2}}';
    const noProto = '{"key":{"saddr":1,"daddr":2,"sport":3,"dport":4},"value":{"packets":1,"bytes":2}}';
    const noBytes = '{"key":{"saddr":1,"daddr":2,"sport":3,"dport":4,"proto":17},"value":{"packets":1}}';
    const unknownKeyField = '{"key":{"saddr":1,"daddr":2,"sport":3,"dport":4,"proto":6,"port":1},"value":{"packets":1,"bytes":2}}';
    for (const [input, args, message] of [
      [`${full}\n${noProto}\n`, [], `line 2: key of ${at}: missing field "proto" (a key must give every field: one left out would be written as 0, which is another key)`],
      [`${noProto}\n`, ['--zero-fill-values'], `line 1: key of ${at}: missing field "proto"`],
      [`${full}\n${noBytes}\n`, [], `line 2: value of ${at}: missing field "bytes" (give every field, or --zero-fill-values to write the ones left out as 0)`],
      [`${unknownKeyField}\n`, [], `line 1: key of ${at}: struct flow has no field "port" (fields: saddr, daddr, sport, dport, proto)`],
    ] as const) {
      const r = await runMain(['load', 'id', String(map.id), ...args], { input });
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.startsWith(`bpfmap load: ${message}`), r.stderr);
      assert.match(r.stderr, /nothing was written \(0 entries applied\)\n$/);
      assert.equal(map.dump().count, 0);
    }
    const filled = await runMain(['load', 'id', String(map.id), '--zero-fill-values'], { input: `${noBytes}\n` });
    assert.equal(filled.code, 0, filled.stderr);
    assert.deepEqual([...map.values()], [{ packets: 1n, bytes: 0n }]);
  });

  test('an overlong line is an error naming it, raised as the bytes arrive: a 32 MB line, --file /dev/zero', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = hashMap(16);
    const good = '{"key":"01000000","value":"0100000000000000"}\n';
    const long = `{"key":"02000000","value":"${'0'.repeat(32 << 20)}"}\n`;
    for (const [args, input, where] of [
      [[], good + long, 'line 2'],
      [['--file', '/dev/zero'], '', 'line 1'],
    ] as const) {
      // Before, the 32 MB line took some 40 s and /dev/zero never ended: killed here instead.
      const r = await runCli(['load', 'id', String(map.id), ...args], { input, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `bpfmap load: ${where}: longer than 1 MiB, the longest line an entry of this map can need (is the input what dump prints?); nothing was written (0 entries applied)\n`);
      assert.equal(map.dump().count, 0);
    }
  });
});
