// Maps made by clang-built BPF programs loaded with bpftool (prog loadall ... pinmaps), read and
// written by bpfmap with no hand-written types: what a user of a real program sees.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import type { BtfValue } from '../../src/btf/codec.js';
import { BpfMap } from '../../src/map/map.js';
import { bpftool } from '../helpers/bpftool.js';
import { clangAvailable, loadBpfObject, runProgram, type LoadedObject } from '../helpers/clang.js';
import { runMain } from '../helpers/cli.js';
import { linuxAvailable } from '../helpers/kernel.js';

/** Counters in per-CPU maps (a __u64 and a struct) and global data in .bss, .data and .rodata. */
const COUNTER = `
struct cfg { __u32 limit; __be16 port; char tag[6]; };
struct stats { __u64 packets; __u64 bytes; __u32 hist[4]; };

volatile __u64 hits;
__u32 last_len = 7;
const volatile struct cfg cfg = { .limit = 1000, .port = 0x5000, .tag = "dflt" };

struct { __uint(type, 6 /* percpu_array */); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } pkt_count SEC(".maps");
struct { __uint(type, 6); __uint(max_entries, 2); __type(key, __u32); __type(value, struct stats); } pkt_stats SEC(".maps");

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
});
