import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BtfBuilder } from '../../src/btf/encode.js';
import type { BtfComposite } from '../../src/btf/types.js';
import { cstring } from '../../src/codec/cstring.js';
import { be16, i32, ipv4, perCpu, struct, u16, u32, u64, u8 } from '../../src/index.js';
import { parseConfig } from '../../src/export/config.js';
import { fieldsOf } from '../../src/export/btf-fields.js';
import { Exporter } from '../../src/export/exporter.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { render } from '../../src/export/exposition.js';
import { BpfMap } from '../../src/map/map.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { prometheusAvailable, promtoolCheck } from '../helpers/prometheus.js';

/** Samples of an exposition by their series text (`name{labels}`). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The samples of one metric (its name exactly, or with _bucket/_sum/_count for histograms). */
function of(all: Map<string, number>, name: string): Record<string, number> {
  const names = new Set([name, `${name}_bucket`, `${name}_sum`, `${name}_count`]);
  return Object.fromEntries([...all].filter(([k]) => names.has(k.split('{')[0] as string)));
}

const flow = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });

async function scrape(e: Exporter): Promise<{ text: string; all: Map<string, number> }> {
  const text = render(await e.collect(), 'text');
  return { text, all: samples(text) };
}

function exporterFor(yaml: string, logs: string[] = []): Exporter {
  return new Exporter(parseConfig(yaml, 'test.yaml'), { kernel: LINUX.kernel(), log: (l) => logs.push(l) });
}

test('the exporter on the emulated kernel: BTF labels, per-CPU sums, a pin replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-emu-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = new EmulatedKernel({ dir, cpus: 3 });
  const path = '/sys/fs/bpf/emu-export';
  const first = BpfMap.create({ kernel, type: 'percpu_hash', key: flow, value: perCpu(u64), maxEntries: 8, btf: true });
  first.set({ saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 80, dport: 9, proto: 6 }, [1n, 2n, 4n]);
  first.pin(path);
  first.close();
  const e = new Exporter(parseConfig(`
metrics:
  - { name: b_total, help: B., type: counter, map: pinned ${path}, labels: [{ name: saddr, field: saddr, decoder: ipv4 }, { name: sport, field: sport, decoder: port }] }
`), { kernel, fields: fieldsOf, log: () => {} });
  e.check();
  let all = samples(render(await e.collect(), 'text'));
  assert.deepEqual(of(all, 'b_total'), { 'b_total{saddr="10.0.0.1",sport="80"}': 7 });
  kernel.unpin(path);
  using second = BpfMap.create({ kernel, type: 'hash', key: flow, value: u64, maxEntries: 8, btf: true });
  second.set({ saddr: '10.0.0.3', daddr: '10.0.0.2', sport: 443, dport: 9, proto: 6 }, 5n);
  second.pin(path);
  all = samples(render(await e.collect(), 'text'));
  assert.deepEqual(of(all, 'b_total'), { 'b_total{saddr="10.0.0.3",sport="443"}': 5 });
  assert.equal(all.get(`bpfmap_export_map_id{map="pinned ${path}"}`), second.id);
});

test('labels of __be32 *addr and __be16 *port members default to ipv4 and port (the BTF says network order)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-emu-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = new EmulatedKernel({ dir, cpus: 2 });
  const path = '/sys/fs/bpf/emu-export-defaults';
  const m = BpfMap.create({ kernel, type: 'hash', key: flow, value: u64, maxEntries: 8, btf: true });
  m.set({ saddr: '10.1.54.15', daddr: '10.0.0.2', sport: 61163, dport: 53, proto: 6 }, 5n);
  m.pin(path);
  m.close();
  const e = new Exporter(parseConfig(`
metrics:
  - { name: b_total, help: B., type: counter, map: pinned ${path}, labels: [{ name: saddr, field: saddr }, { name: dport, field: dport }, { name: proto, field: proto }] }
`), { kernel, fields: fieldsOf, log: () => {} });
  e.check();
  const all = samples(render(await e.collect(), 'text'));
  assert.deepEqual(of(all, 'b_total'), { 'b_total{saddr="10.1.54.15",dport="53",proto="6"}': 5 });
});

describe('exporter on the real kernel', () => {
  test('a struct key by offsets: ipv4, port (network order), static mapping; equal label sets are added', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('exp-flows');
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key: flow, value: u64, maxEntries: 64 });
    m.set({ saddr: '10.0.0.1', daddr: '10.0.0.9', sport: 443, dport: 5000, proto: 6 }, 100n);
    m.set({ saddr: '10.0.0.1', daddr: '10.0.0.8', sport: 443, dport: 5001, proto: 6 }, 5n);
    m.set({ saddr: '192.168.1.20', daddr: '10.0.0.9', sport: 53, dport: 5002, proto: 17 }, 7n);
    m.set({ saddr: '192.168.1.20', daddr: '10.0.0.9', sport: 1, dport: 5003, proto: 99 }, 2n ** 40n);
    m.pin(path);
    t.after(() => rmSync(path, { force: true }));
    const e = exporterFor(`
metrics:
  - name: flow_bytes_total
    help: Bytes by source and source port.
    type: counter
    map: pinned ${path}
    labels:
      - { name: saddr, offset: 0, decoder: ipv4 }
      - { name: sport, offset: 8, decoder: port }
      - { name: proto, offset: 12, size: 1, decoder: static, values: { 6: tcp, 17: udp } }
`);
    e.check();
    const { all } = await scrape(e);
    assert.deepEqual(of(all, 'flow_bytes_total'), {
      'flow_bytes_total{saddr="10.0.0.1",sport="443",proto="tcp"}': 105,
      'flow_bytes_total{saddr="192.168.1.20",sport="53",proto="udp"}': 7,
      'flow_bytes_total{saddr="192.168.1.20",sport="1",proto="99"}': 2 ** 40,
    });
    assert.equal(all.get(`bpfmap_export_entries{map="pinned ${path}"}`), 4);
    assert.equal(all.get(`bpfmap_export_errors_total{map="pinned ${path}"}`), 0);
    assert.equal(all.get(`bpfmap_export_map_id{map="pinned ${path}"}`), m.id);
  });

  test('labels and values by BTF member name: ipv4, port, enum names, char arrays, nested members; entries with equal labels added', async (t) => {
    if (!linuxAvailable(t)) return;
    const b = new BtfBuilder();
    const be32 = b.typedef('__be32', b.int('unsigned int', 4));
    const be16t = b.typedef('__be16', b.int('short unsigned int', 2));
    const u8t = b.int('unsigned char', 1);
    const dir = b.enum('flow_dir', { INGRESS: 0, EGRESS: 1 });
    const inner = b.struct('vlan_tag', [{ name: 'vlan', type: b.int('short unsigned int', 2) }]);
    const keyId = b.struct('flow_key', [
      { name: 'saddr', type: be32 },
      { name: 'dport', type: be16t },
      { name: 'proto', type: u8t },
      { name: 'dir', type: dir },
      { name: 'comm', type: b.array(b.int('char', 1, { char: true }), 8) },
      { name: 'tag', type: inner },
    ]);
    const u64t = b.int('long long unsigned int', 8);
    const valueId = b.struct('flow_stats', [{ name: 'packets', type: u64t }, { name: 'bytes', type: u64t }]);
    const btf = b.btf();
    // The same layout as codecs, to fill the map; checked against the BTF's own offsets.
    const key = struct({ saddr: ipv4, dport: be16, proto: u8, dir: i32, comm: cstring(8), tag: struct({ vlan: u16 }) });
    const value = struct({ packets: u64, bytes: u64 });
    const members = (btf.type(keyId) as BtfComposite).members;
    assert.deepEqual(members.map((m) => m.bitOffset / 8), Object.values(key.offsets));
    assert.equal(btf.sizeOf(keyId), key.size);
    const kernel = LINUX.kernel();
    using raw = BpfMap.create({ kernel, type: 'hash', maxEntries: 16, btf: { key: { btf, type: keyId }, value: { btf, type: valueId } }, raw: true });
    using m = BpfMap.fromId(raw.id, { kernel, key, value });
    m.set({ saddr: '10.0.0.1', dport: 443, proto: 6, dir: 1, comm: 'curl', tag: { vlan: 7 } }, { packets: 3n, bytes: 300n });
    m.set({ saddr: '10.0.0.1', dport: 443, proto: 17, dir: 1, comm: 'curl', tag: { vlan: 7 } }, { packets: 1n, bytes: 20n });
    m.set({ saddr: '10.0.0.2', dport: 53, proto: 17, dir: 0, comm: 'dig "x"', tag: { vlan: 0 } }, { packets: 2n, bytes: 128n });
    m.set({ saddr: '10.0.0.3', dport: 22, proto: 6, dir: 5, comm: 'ssh', tag: { vlan: 1 } }, { packets: 1n, bytes: 64n });
    const logs: string[] = [];
    const e = new Exporter(parseConfig(`
metrics:
  - name: flow_bytes_total
    help: Bytes.
    type: counter
    map: id ${m.id}
    labels:
      - { name: saddr, field: saddr, decoder: ipv4 }
      - { name: dport, field: dport, decoder: port }
      - { name: dir, field: dir }
      - { name: comm, field: comm }
      - { name: vlan, field: tag.vlan }
    value: { field: bytes }
`, 'btf.yaml'), { kernel, log: (l) => logs.push(l), fields: fieldsOf });
    e.check();
    const { all } = await scrape(e);
    assert.deepEqual(of(all, 'flow_bytes_total'), {
      'flow_bytes_total{saddr="10.0.0.1",dport="443",dir="EGRESS",comm="curl",vlan="7"}': 320,
      'flow_bytes_total{saddr="10.0.0.2",dport="53",dir="INGRESS",comm="dig \\"x\\"",vlan="0"}': 128,
      'flow_bytes_total{saddr="10.0.0.3",dport="22",dir="5",comm="ssh",vlan="1"}': 64,
    });
    assert.deepEqual(logs, []);
    const bad = (yaml: string): Exporter => new Exporter(parseConfig(yaml, 'btf.yaml'), { kernel, fields: fieldsOf });
    assert.throws(() => bad(`metrics: [{ name: a, help: A., type: gauge, map: id ${m.id}, labels: [{ name: x, field: sadr }], value: { field: bytes } }]`).check(),
      /btf\.yaml:1:\d+: metrics\[0\]\.labels\[0\]\.field: struct flow_key has no member "sadr" \(members: saddr, dport, proto, dir, comm, tag\)/);
    assert.throws(() => bad(`metrics: [{ name: a, help: A., type: gauge, map: id ${m.id}, value: { field: packets, size: 4 } }]`).check(),
      /metrics\[0\]\.value\.size: 4, but BTF says value member "packets" is 8 bytes/);
    assert.throws(() => bad(`metrics: [{ name: a, help: A., type: gauge, map: id ${m.id} }]`).check(),
      /metrics\[0\]: a value is an integer of 1, 2, 4 or 8 bytes, the field has 16: pick a field/);
    using plain = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1 });
    assert.throws(() => bad(`metrics: [{ name: a, help: A., type: gauge, map: id ${plain.id}, labels: [{ name: x, field: saddr }] }]`).check(),
      new RegExp(`labels\\[0\\]\\.field: map id ${plain.id} has no BTF to find "saddr" in: give offset and size instead`));
  });

  test('per-CPU values: summed, or one series per CPU with a cpu label; a value field of a struct', async (t) => {
    if (!linuxAvailable(t)) return;
    const stats = struct({ packets: u64, bytes: u64 });
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_hash', key: u32, value: perCpu(stats), maxEntries: 16 });
    const cpus = m.cpus;
    for (const k of [1, 2]) m.set(k, Array.from({ length: cpus }, (_, c) => ({ packets: BigInt(k * 10 + c), bytes: BigInt(k * 1000 + c * 7) })));
    const e = exporterFor(`
metrics:
  - { name: pkts_total, help: Packets., type: counter, map: id ${m.id}, labels: [{ name: ifindex, offset: 0, size: 4 }], value: { offset: 0, size: 8 } }
  - name: bytes_total
    help: Bytes per CPU.
    type: counter
    map: id ${m.id}
    percpu: cpu
    labels: [{ name: ifindex, offset: 0, size: 4 }]
    value: { offset: 8, size: 8 }
`);
    const { all } = await scrape(e);
    const sum = (k: number): number => Array.from({ length: cpus }, (_, c) => k * 10 + c).reduce((a, b) => a + b, 0);
    assert.deepEqual(of(all, 'pkts_total'), { 'pkts_total{ifindex="1"}': sum(1), 'pkts_total{ifindex="2"}': sum(2) });
    const perCpuWant: Record<string, number> = {};
    for (const k of [1, 2]) for (let c = 0; c < cpus; c++) perCpuWant[`bytes_total{ifindex="${k}",cpu="${c}"}`] = k * 1000 + c * 7;
    assert.deepEqual(of(all, 'bytes_total'), perCpuWant);
    assert.equal(all.get(`bpfmap_export_entries{map="id ${m.id}"}`), 2, 'one read feeds both metrics');
  });

  test('histograms from log2 and linear bucket keys, with a label beside the bucket', async (t) => {
    if (!linuxAvailable(t)) return;
    const key = struct({ dev: u32, slot: u32 });
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key, value: u64, maxEntries: 64 });
    // dev 1: slots 0..4 hold 1, 2, 3, 4, 5; slot 9 (past max) holds 6. dev 2: slot 2 holds 10.
    for (let s = 0; s < 5; s++) m.set({ dev: 1, slot: s }, BigInt(s + 1));
    m.set({ dev: 1, slot: 9 }, 6n);
    m.set({ dev: 2, slot: 2 }, 10n);
    const e = exporterFor(`
metrics:
  - name: io_latency_seconds
    help: Latency.
    type: histogram
    map: id ${m.id}
    labels: [{ name: dev, offset: 0, size: 4 }]
    bucket: { offset: 4, size: 4, type: log2, min: 1, max: 4, multiplier: 0.5 }
  - name: io_size_bytes
    help: Sizes.
    type: histogram
    map: id ${m.id}
    bucket: { offset: 4, size: 4, type: linear, max: 3, multiplier: 100 }
`);
    const { all, text } = await scrape(e);
    // log2, min 1: le of key k is 0.5 * 2^k; key 0 (below min) counts in the first bucket.
    assert.deepEqual(of(all, 'io_latency_seconds'), {
      'io_latency_seconds_bucket{dev="1",le="1"}': 1 + 2,
      'io_latency_seconds_bucket{dev="1",le="2"}': 1 + 2 + 3,
      'io_latency_seconds_bucket{dev="1",le="4"}': 1 + 2 + 3 + 4,
      'io_latency_seconds_bucket{dev="1",le="8"}': 15,
      'io_latency_seconds_bucket{dev="1",le="+Inf"}': 21,
      'io_latency_seconds_sum{dev="1"}': 1 * 0.5 + 2 * 1 + 3 * 2 + 4 * 4 + 5 * 8 + 6 * 256,
      'io_latency_seconds_count{dev="1"}': 21,
      'io_latency_seconds_bucket{dev="2",le="1"}': 0,
      'io_latency_seconds_bucket{dev="2",le="2"}': 10,
      'io_latency_seconds_bucket{dev="2",le="4"}': 10,
      'io_latency_seconds_bucket{dev="2",le="8"}': 10,
      'io_latency_seconds_bucket{dev="2",le="+Inf"}': 10,
      'io_latency_seconds_sum{dev="2"}': 20,
      'io_latency_seconds_count{dev="2"}': 10,
    });
    // linear over both devs: le of key k is 100 * k.
    assert.deepEqual(of(all, 'io_size_bytes'), {
      'io_size_bytes_bucket{le="0"}': 1,
      'io_size_bytes_bucket{le="100"}': 3,
      'io_size_bytes_bucket{le="200"}': 3 + 3 + 10,
      'io_size_bytes_bucket{le="300"}': 20,
      'io_size_bytes_bucket{le="+Inf"}': 31,
      'io_size_bytes_sum': 2 * 100 + 13 * 200 + 4 * 300 + 5 * 400 + 6 * 900,
      'io_size_bytes_count': 31,
    });
    if (prometheusAvailable(t)) assert.deepEqual(promtoolCheck(text), { status: 0, output: '' });
  });

  test('max_series keeps the largest series and reports how many were dropped', async (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', key: u32, value: u64, maxEntries: 64 });
    for (let k = 0; k < 50; k++) m.set(k, BigInt((k * 37) % 50));
    const e = exporterFor(`
metrics:
  - { name: top, help: Top., type: gauge, map: id ${m.id}, max_series: 5, labels: [{ name: k, offset: 0, size: 4 }] }
`);
    const { all } = await scrape(e);
    const kept = of(all, 'top');
    assert.deepEqual(Object.values(kept).sort((a, b) => b - a), [49, 48, 47, 46, 45]);
    for (const [series, v] of Object.entries(kept)) assert.equal((Number(/k="(\d+)"/.exec(series)?.[1]) * 37) % 50, v);
    assert.equal(all.get('bpfmap_export_series_dropped{metric="top"}'), 45);
  });

  test('max_series on a large map (200,000 entries, 150,000 kept)', async (t) => {
    if (!linuxAvailable(t)) return;
    const n = 200_000;
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: n });
    const keys = Buffer.alloc(4 * n);
    const values = Buffer.alloc(4 * n);
    for (let i = 0; i < n; i++) {
      keys.writeUInt32LE(i, 4 * i);
      values.writeUInt32LE(i, 4 * i);
    }
    m.updateBatch({ keys, values });
    const e = exporterFor(`
metrics:
  - { name: big, help: Big., type: gauge, map: id ${m.id}, max_series: 150000, labels: [{ name: k, offset: 0, size: 4 }] }
`);
    const { all } = await scrape(e);
    const kept = Object.values(of(all, 'big'));
    assert.equal(kept.length, 150_000);
    assert.equal(Math.min(...kept.slice(0, 1000)) >= 50_000, true);
    assert.equal(kept.reduce((a, b) => a + b, 0), (50_000 + 199_999) * 150_000 / 2, 'exactly the 150,000 largest');
    assert.equal(all.get('bpfmap_export_series_dropped{metric="big"}'), 50_000);
  });

  test('a map replaced under its pin is followed; a deleted one is an error metric and one log line, the others still served', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    const pa = pinPath('exp-replace');
    const pb = pinPath('exp-keep');
    t.after(() => {
      rmSync(pa, { force: true });
      rmSync(pb, { force: true });
    });
    const a1 = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 2 });
    a1.set(0, 11n);
    a1.pin(pa);
    a1.close();
    using b = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 1 });
    b.set(0, 5n);
    b.pin(pb);
    const logs: string[] = [];
    const e = exporterFor(`
metrics:
  - { name: a_value, help: A., type: gauge, map: pinned ${pa}, labels: [{ name: i, offset: 0, size: 4 }] }
  - { name: b_value, help: B., type: gauge, map: pinned ${pb} }
`, logs);
    let { all } = await scrape(e);
    assert.equal(all.get('a_value{i="0"}'), 11);
    const firstId = all.get(`bpfmap_export_map_id{map="pinned ${pa}"}`);

    // The program is reloaded: a new map, with a different layout of keys, at the same pin.
    rmSync(pa);
    using a2 = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 4 });
    a2.set(7, 70n);
    a2.pin(pa);
    ({ all } = await scrape(e));
    assert.deepEqual(of(all, 'a_value'), { 'a_value{i="7"}': 70 });
    assert.equal(all.get(`bpfmap_export_map_id{map="pinned ${pa}"}`), a2.id);
    assert.notEqual(a2.id, firstId);
    assert.equal(all.get(`bpfmap_export_map_replaced_total{map="pinned ${pa}"}`), 1);

    // Gone: two scrapes count two errors and log one line; b is still served.
    rmSync(pa);
    a2.close();
    await scrape(e);
    ({ all } = await scrape(e));
    assert.deepEqual(of(all, 'a_value'), {});
    // No entry count of a map that is not there (the last one read was 1).
    assert.equal(all.has(`bpfmap_export_entries{map="pinned ${pa}"}`), false);
    assert.equal(all.get(`bpfmap_export_entries{map="pinned ${pb}"}`), 1);
    assert.deepEqual(e.failed, [`pinned ${pa}`]);
    assert.equal(all.get(`bpfmap_export_errors_total{map="pinned ${pa}"}`), 2);
    assert.equal(all.get(`bpfmap_export_errors_total{map="pinned ${pb}"}`), 0);
    assert.equal(all.get('b_value'), 5);
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.match(logs[0] as string, new RegExp(`pinned ${pa}: BPF_OBJ_GET .*ENOENT`));

    // Back again: served, and the log says so.
    using a3 = BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 1 });
    a3.set(0, 3n);
    a3.pin(pa);
    ({ all } = await scrape(e));
    assert.equal(all.get('a_value{i="0"}'), 3);
    assert.equal(all.get(`bpfmap_export_entries{map="pinned ${pa}"}`), 1);
    assert.deepEqual(e.failed, []);
    assert.equal(all.get(`bpfmap_export_errors_total{map="pinned ${pa}"}`), 2);
    assert.match(logs[1] as string, /reading again/);
  });

  test('a pinned selector off a bpf filesystem or under a missing directory logs what is wrong with the path', (t) => {
    if (!linuxAvailable(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-nobpffs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const missing = `${pinPath('export-nodir')}/flows`;
    const logs: string[] = [];
    exporterFor(`
metrics:
  - { name: a, help: A., type: gauge, map: pinned ${dir}/flows }
  - { name: b, help: B., type: gauge, map: pinned ${missing} }
`, logs).check();
    assert.deepEqual(logs, [
      `bpfmap export: pinned ${dir}/flows: BPF_OBJ_GET on map ${dir}/flows failed: ENOENT (${dir} is not on a bpf filesystem: pins live on one, such as /sys/fs/bpf, which \`mount -t bpf bpf /sys/fs/bpf\` mounts if none is there)`,
      `bpfmap export: pinned ${missing}: BPF_OBJ_GET on map ${missing} failed: ENOENT (the directory ${missing.slice(0, -6)} does not exist: create it on a bpf filesystem first, mkdir -p ${missing.slice(0, -6)})`,
    ]);
  });

  test('a map whose new layout no longer fits the config is an error, not a crash', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    const path = pinPath('exp-layout');
    t.after(() => rmSync(path, { force: true }));
    const small = BpfMap.create({ kernel, type: 'hash', keySize: 2, valueSize: 8, maxEntries: 4 });
    small.pin(path);
    small.close();
    const logs: string[] = [];
    const e = exporterFor(`
metrics:
  - { name: x, help: X., type: gauge, map: pinned ${path}, labels: [{ name: a, offset: 0, decoder: ipv4 }] }
`, logs);
    assert.throws(() => e.check(), /test\.yaml:3:\d+: metrics\[0\]\.labels\[0\]: label "a" at offset 0, 4 bytes, is past the end of map id \d+'s 2-byte key/);
    const { all } = await scrape(e);
    assert.equal(all.get(`bpfmap_export_errors_total{map="pinned ${path}"}`), 1);
    assert.equal(logs.length, 1);
  });

  test('the exposition passes promtool check metrics, in text format; OpenMetrics names counters without _total and ends in # EOF', async (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'percpu_array', key: u32, value: perCpu(u64), maxEntries: 4 });
    m.set(1, Array.from({ length: m.cpus }, () => 3n));
    const e = exporterFor(`
metrics:
  - { name: hits_total, help: "Hits, with \\\\ and a\\nnewline.", type: counter, map: id ${m.id}, percpu: cpu, labels: [{ name: slot, offset: 0, size: 4, decoder: static, values: { 1: 'quote " and \\' } }] }
  - { name: slots, help: Slots., type: histogram, map: id ${m.id}, bucket: { offset: 0, size: 4, type: log2, max: 3 } }
`);
    const families = await e.collect();
    const text = render(families, 'text');
    assert.ok(text.includes('hits_total{slot="quote \\" and \\\\",cpu="0"} 3'), text);
    assert.ok(text.includes('# HELP hits_total Hits, with \\\\ and a\\nnewline.'), text);
    const om = render(families, 'openmetrics');
    assert.ok(om.includes('# TYPE hits counter\n'));
    assert.ok(om.endsWith('\n# EOF\n'));
    if (prometheusAvailable(t)) assert.deepEqual(promtoolCheck(text), { status: 0, output: '' });
  });
});

test('an aborted collection stops at its next batch, rejecting with the reason, and counts no map error', async (t) => {
  if (!linuxAvailable(t)) return;
  using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 5000 });
  const keys = Buffer.alloc(4 * 5000);
  for (let i = 0; i < 5000; i++) keys.writeUInt32LE(i, 4 * i);
  map.updateBatch({ keys, values: Buffer.alloc(8 * 5000, 1) });
  const logs: string[] = [];
  const e = exporterFor(`
batch_size: 100
metrics:
  - { name: a_total, help: A., type: counter, map: id ${map.id}, labels: [{ name: k, offset: 0, size: 4 }], max_series: 1 }
`, logs);
  const ac = new AbortController();
  const collecting = e.collect(ac.signal);
  ac.abort(new Error('closing'));
  await assert.rejects(collecting, /^Error: closing$/);
  const { all } = await scrape(e);
  assert.equal(all.get(`bpfmap_export_errors_total{map="id ${map.id}"}`), 0);
  assert.equal(all.get(`bpfmap_export_entries{map="id ${map.id}"}`), 5000);
  assert.deepEqual(logs, []);
});
