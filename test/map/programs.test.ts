// Maps made by clang-built BPF programs loaded with bpftool (prog loadall ... pinmaps), read and
// written by bpfmap with no hand-written types: what a user of a real program sees.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test, type TestContext } from 'node:test';
import type { BtfValue } from '../../src/btf/codec.js';
import { namedFieldReader } from '../../src/cli/value-field.js';
import type { Codec } from '../../src/codec/codec.js';
import { BpfMap } from '../../src/map/map.js';
import { u32, u64 } from '../../src/codec/int.js';
import { bpftool } from '../helpers/bpftool.js';
import { clangAvailable, loadBpfObject, runProgram, type LoadedObject } from '../helpers/clang.js';
import { runMain } from '../helpers/cli.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { compileTs, PACKAGE_ENTRY } from '../helpers/tsc.js';
import type { ValueCodec } from '../../src/map/options.js';
import { assertRoundTrips } from '../helpers/round-trip.js';

/** Counters in per-CPU maps (a __u64 and a struct) and global data in .bss, .data and .rodata. */
const COUNTER = `
struct cfg { __u32 limit; __be16 port; char tag[6]; };
struct stats { __u64 packets; __u64 bytes; __u32 hist[4]; };

volatile __u64 hits;
__u32 last_len = 7;
const volatile struct cfg cfg = { .limit = 1000, .port = 0x5000 /* port 80 in network order, on little-endian */, .tag = "dflt" };

struct { __uint(type, 6 /* percpu_array */); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } pkt_count SEC(".maps");
struct { __uint(type, 6); __uint(max_entries, 2); __type(key, __u32); __type(value, struct stats); } pkt_stats SEC(".maps");

struct inner_map { __uint(type, 1 /* hash */); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } inner1 SEC(".maps");
struct { __uint(type, 12 /* array_of_maps */); __uint(max_entries, 2); __type(key, __u32); __array(values, struct inner_map); } outer SEC(".maps") = { .values = { [0] = &inner1 } };

SEC("xdp") int count(struct xdp_md *ctx) {
  __u32 len = ctx->data_end - ctx->data;
  __u32 k = 1;
  __u64 *c = bpf_map_lookup_elem(&pkt_count, &k);
  if (c) *c += 1;
  struct stats *s = bpf_map_lookup_elem(&pkt_stats, &k);
  if (s) { s->packets += 1; s->bytes += len; s->hist[len & 3] += 1; }
  hits += 1;
  if (len < cfg.limit) last_len = len;
  return 2; /* XDP_PASS */
}
`;

/** Skips (in CI: fails) without the kernel, bpftool or clang; else the bpftool path. */
function tools(t: TestContext): string | null {
  if (!linuxAvailable(t) || !clangAvailable(t)) return null;
  return bpftool(t);
}

describe('maps of a clang-built program loaded with bpftool', () => {
  let obj: LoadedObject | undefined;
  let tool = '';
  after(() => obj?.close());
  // Loaded once, by the first test that has its tools.
  const load = (t: TestContext): LoadedObject | undefined => {
    const b = tools(t);
    if (b === null) return undefined;
    tool = b;
    obj ??= loadBpfObject(b, 'counter', COUNTER);
    return obj;
  };

  test('per-CPU __u64 and struct values sum through BTF: entriesSummed, sumCpus and the CLI', async (t) => {
    const o = load(t);
    if (!o) return;
    using count = BpfMap.openPinned(`${o.maps}/pkt_count`);
    using stats = BpfMap.openPinned(`${o.maps}/pkt_stats`);
    const before = [...count.entriesSummed()].find(([k]) => k === 1)?.[1] as bigint;
    const beforeStats = [...stats.entriesSummed()].find(([k]) => k === 1)?.[1] as { [f: string]: BtfValue };
    runProgram(tool, `${o.progs}/count`, 64, 5);
    runProgram(tool, `${o.progs}/count`, 67, 2);
    const summed = new Map([...count.entriesSummed()] as [BtfValue, BtfValue][]);
    assert.equal(summed.get(1), before + 7n);
    assert.equal(summed.get(0), 0n);
    assert.equal(count.sumCpus(count.get(1) as never), before + 7n);
    const s = new Map([...stats.entriesSummed()] as [BtfValue, BtfValue][]).get(1) as { [f: string]: BtfValue };
    const h = beforeStats.hist as number[];
    assert.deepEqual(s, {
      packets: (beforeStats.packets as bigint) + 7n,
      bytes: (beforeStats.bytes as bigint) + 5n * 64n + 2n * 67n,
      hist: [(h[0] as number) + 5, h[1], h[2], (h[3] as number) + 2],
    });
    const cli = await runMain(['dump', 'pinned', `${o.maps}/pkt_stats`, '--format', 'ndjson', '--percpu', 'sum']);
    assert.equal(cli.code, 0, cli.stderr);
    const line = cli.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: unknown; value: unknown })
      .find((e) => e.key === 1);
    assert.deepEqual(line?.value, { packets: Number(s.packets), bytes: Number(s.bytes), hist: s.hist });
  });

  test(".bss, .data and .rodata decode by name; a run's increments are seen, and a userspace write to .bss is seen by the next run", async (t) => {
    const o = load(t);
    if (!o) return;
    using bss = BpfMap.openPinned(`${o.maps}/counter_bss`);
    using data = BpfMap.openPinned(`${o.maps}/counter_data`);
    using rodata = BpfMap.openPinned(`${o.maps}/counter_rodata`);
    assert.deepEqual(rodata.get(0), { cfg: { limit: 1000, port: 80, tag: 'dflt' } });
    assert.equal(rodata.info().frozen, true);
    const g = bss.globals<{ hits: bigint }>();
    const d = data.globals<{ last_len: number }>();
    const start = g.hits;
    runProgram(tool, `${o.progs}/count`, 80, 3);
    assert.equal(g.hits, start + 3n, 'read through the mapped memory');
    assert.deepEqual(bss.get(0), { hits: start + 3n }, 'and through LOOKUP_ELEM');
    assert.equal(d.last_len, 80);
    g.hits = 1000n;
    d.last_len = 1;
    runProgram(tool, `${o.progs}/count`, 90);
    assert.equal(g.hits, 1001n, 'the program counted on from what userspace wrote');
    assert.deepEqual(data.get(0), { last_len: 90 });
    bss.set(0, { hits: 5n });
    runProgram(tool, `${o.progs}/count`, 90);
    assert.equal(g.hits, 6n, 'a write through UPDATE_ELEM is seen too');
    const c = rodata.globals<{ cfg: { limit: number } }>();
    assert.equal(c.cfg.limit, 1000);
    assert.throws(() => (c.cfg = { limit: 1 }), /read-only to userspace \(frozen\)/);
    assert.throws(() => rodata.set(0, { cfg: { limit: 1 } }), /EPERM/);

    const show = await runMain(['show', 'pinned', `${o.maps}/counter_bss`]);
    assert.match(show.stdout, /^value type +datasec \.bss \{ volatile __u64 hits; \}$/m);
    const ro = await runMain(['show', 'pinned', `${o.maps}/counter_rodata`]);
    assert.match(ro.stdout, /^value type +datasec \.rodata \{ const volatile struct cfg cfg; \}$/m);
    const dump = await runMain(['dump', 'pinned', `${o.maps}/counter_rodata`, '--format', 'ndjson']);
    assert.deepEqual(JSON.parse(dump.stdout), { key: 0, value: { cfg: { limit: 1000, port: 80, tag: 'dflt' } } });
    // watch ranks by a variable of the section, as by a member of a struct.
    const watched = namedFieldReader(bss as BpfMap<unknown, unknown>, bss.valueCodec as Codec<unknown>, 'hits');
    const raw = Buffer.alloc(bss.valueSize);
    bss.kernel.lookup(bss.fd, Buffer.alloc(4), raw, 0);
    assert.equal(watched.read(raw, 0), 6);
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-globals-'));
    try {
      const config = join(dir, 'export.yaml');
      writeFileSync(
        config,
        `metrics:\n  - { name: prog_hits_total, help: Runs., type: counter, map: pinned ${o.maps}/counter_bss, value: { field: hits } }\n`,
      );
      const scrape = await runMain(['export', '--config', config, '--once']);
      assert.equal(scrape.code, 0, scrape.stderr);
      assert.match(scrape.stdout, /^prog_hits_total 6$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bpfmap gen writes a module for every map of the pin directory: it compiles, reads and writes the maps typed, and round-trips every entry', async (t) => {
    const o = load(t);
    if (!o) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-gen-'));
    try {
      const out = join(dir, 'maps.ts');
      const r = await runMain(['gen', 'pinned', o.maps, '-o', out, '--import-from', PACKAGE_ENTRY]);
      assert.equal(r.code, 0, r.stderr);
      const text = readFileSync(out, 'utf8');
      assert.match(text, /^export type CounterBss = \{\n  hits: bigint;\n\};$/m);
      assert.match(text, /^  \/\*\* __be16: network byte order \*\/\n  port: number;$/m);
      const consumer = `
import { BpfMap } from ${JSON.stringify(PACKAGE_ENTRY)};
import { counter_bss, counter_rodata, pkt_stats, type CounterBss, type Stats } from './maps.js';

export function read(dir: string): { stats: Stats | undefined; limit: number; hits: bigint } {
  using stats = BpfMap.openPinned(\`\${dir}/pkt_stats\`, pkt_stats);
  using ro = BpfMap.openPinned(\`\${dir}/counter_rodata\`, counter_rodata);
  using bss = BpfMap.openPinned(\`\${dir}/counter_bss\`, counter_bss);
  const summed = [...stats.entriesSummed()].find(([k]) => k === 1);
  return { stats: summed?.[1], limit: ro.get(0)?.cfg.limit ?? -1, hits: bss.globals<CounterBss>().hits };
}

export function write(dir: string, hits: bigint): void {
  using bss = BpfMap.openPinned(\`\${dir}/counter_bss\`, counter_bss);
  bss.set(0, { hits });
}
`;
      using built = compileTs({ 'maps.ts': text, 'use.ts': consumer });
      const gen = (await import(pathToFileURL(join(built.dir, 'maps.js')).href)) as Record<
        string,
        { key: Codec<unknown>; value: ValueCodec<unknown> }
      >;
      const use = (await import(pathToFileURL(join(built.dir, 'use.js')).href)) as {
        read(dir: string): { stats: { packets: bigint } | undefined; limit: number; hits: bigint };
        write(dir: string, hits: bigint): void;
      };
      const names = Object.keys(gen).sort();
      assert.deepEqual(names, ['counter_bss', 'counter_data', 'counter_rodata', 'inner1', 'outer', 'pkt_count', 'pkt_stats']);
      {
        using inner = BpfMap.openPinned(`${o.maps}/inner1`, { key: u32, value: u64 });
        inner.set(1, 10n); // every map has an entry to round-trip
      }
      for (const name of names) {
        using m = BpfMap.openPinned(`${o.maps}/${name}`, { raw: true });
        assert.ok(assertRoundTrips(m.kernel, m.id, gen[name] as { key: Codec<unknown>; value: ValueCodec<unknown> }) > 0, name);
      }
      const before = use.read(o.maps);
      assert.equal(before.limit, 1000);
      use.write(o.maps, 77n);
      runProgram(tool, `${o.progs}/count`, 64, 2);
      const after = use.read(o.maps);
      assert.equal(after.hits, 79n, 'the program counted on from the typed write');
      assert.equal(after.stats?.packets, (before.stats?.packets ?? 0n) + 2n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the array_of_maps a program declares: getMap, set with a BpfMap, innerMaps', (t) => {
    const o = load(t);
    if (!o) return;
    using outer = BpfMap.openPinned(`${o.maps}/outer`, { key: u32 });
    using inner1 = BpfMap.openPinned(`${o.maps}/inner1`);
    {
      // Typed by the inner map's own BTF.
      using got = outer.getMap(0);
      assert.equal(got?.id, inner1.id);
      got?.set(3, 30n);
      assert.equal(inner1.get(3), 30n);
    }
    using spare = BpfMap.create({ type: 'hash', key: u32, value: u64, maxEntries: 8 });
    spare.set(9, 90n);
    outer.set(1, spare);
    const slots = [...outer.innerMaps({ key: u32, value: u64 })].map(([k, m]) => {
      const r = [k, m.id, m.get(3) ?? m.get(9)] as const;
      m.close();
      return r;
    });
    assert.deepEqual(slots, [
      [0, inner1.id, 30n],
      [1, spare.id, 90n],
    ]);
  });
});
