// End to end: `bpfmap export` in a child process, scraped by a real Prometheus server (which asks
// for OpenMetrics), queried through Prometheus's HTTP API for the exact contents of known maps.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { be16, ipv4, perCpu, struct, u16, u32, u64, u8 } from '../../src/index.js';
import { BpfMap } from '../../src/map/map.js';
import { ExporterProcess } from '../helpers/exporter.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { Prometheus, prometheusAvailable, promtoolCheck } from '../helpers/prometheus.js';

const flow = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });

test('Prometheus scrapes bpfmap export and finds the exact contents of the maps; replaced and deleted maps', async (t) => {
  if (!linuxAvailable(t) || !prometheusAvailable(t)) return;
  const kernel = LINUX.kernel();
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-'));
  const pins = { flows: pinPath('e2e-flows'), pc: pinPath('e2e-pc'), hist: pinPath('e2e-hist'), ports: pinPath('e2e-ports') };
  let exporter: ExporterProcess | undefined;
  let prom: Prometheus | undefined;
  const maps: BpfMap<unknown, unknown>[] = [];
  t.after(async () => {
    await prom?.stop();
    await exporter?.stop();
    for (const m of maps) m.close();
    for (const p of Object.values(pins)) rmSync(p, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const keep = <K, V>(m: BpfMap<K, V>): BpfMap<K, V> => (maps.push(m as BpfMap<unknown, unknown>), m);

  // A hash with a struct key and BTF (described from the codecs): labels by member name.
  const flows = keep(BpfMap.create({ kernel, type: 'hash', key: flow, value: u64, maxEntries: 64, btf: true }));
  flows.set({ saddr: '10.1.0.1', daddr: '10.1.0.2', sport: 8080, dport: 40000, proto: 6 }, 1500n);
  flows.set({ saddr: '10.1.0.3', daddr: '10.1.0.2', sport: 53, dport: 40001, proto: 17 }, 99n);
  flows.pin(pins.flows);
  // A per-CPU hash, exported summed and per CPU.
  const pc = keep(BpfMap.create({ kernel, type: 'percpu_hash', key: u32, value: perCpu(u64), maxEntries: 8 }));
  const cpus = pc.cpus;
  pc.set(4, Array.from({ length: cpus }, (_, c) => BigInt(100 + c)));
  pc.pin(pins.pc);
  // A log2 latency histogram: slot -> count.
  const hist = keep(BpfMap.create({ kernel, type: 'array', key: u32, value: u64, maxEntries: 8 }));
  [0, 4, 9, 2, 0, 0, 0, 1].forEach((n, slot) => hist.set(slot, BigInt(n)));
  hist.pin(pins.hist);
  // A map without BTF by offsets: u16 port in host order, value a u32 at offset 4 of 8 bytes.
  const ports = keep(BpfMap.create({ kernel, type: 'hash', key: u16, value: struct({ flags: u32, conns: u32 }), maxEntries: 8 }));
  ports.set(22, { flags: 1, conns: 3 });
  ports.set(443, { flags: 0, conns: 12 });
  ports.pin(pins.ports);

  const config = join(dir, 'export.yaml');
  writeFileSync(config, `
metrics:
  - name: flow_bytes_total
    help: Bytes by source.
    type: counter
    map: pinned ${pins.flows}
    labels:
      - { name: saddr, field: saddr, decoder: ipv4 }
      - { name: sport, field: sport, decoder: port }
      - { name: proto, field: proto, decoder: static, values: { 6: tcp, 17: udp } }
  - { name: drops_total, help: Drops., type: counter, map: pinned ${pins.pc}, labels: [{ name: reason, offset: 0, size: 4 }] }
  - { name: drops_by_cpu_total, help: Drops per CPU., type: counter, map: pinned ${pins.pc}, percpu: cpu, labels: [{ name: reason, offset: 0, size: 4 }] }
  - name: op_latency_seconds
    help: Latency.
    type: histogram
    map: pinned ${pins.hist}
    bucket: { offset: 0, size: 4, type: log2, max: 7, multiplier: 0.000001 }
  - { name: port_connections, help: Connections., type: gauge, map: pinned ${pins.ports}, labels: [{ name: port, offset: 0, size: 2 }], value: { offset: 4, size: 4 } }
`);
  exporter = await ExporterProcess.start(['--config', config]);
  const text = await exporter.scrape();
  assert.equal(text.status, 200);
  assert.equal(text.type, 'text/plain; version=0.0.4; charset=utf-8');
  assert.deepEqual(promtoolCheck(text.body), { status: 0, output: '' });
  const om = await exporter.scrape('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
  assert.match(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
  assert.ok(om.body.endsWith('# EOF\n'));

  prom = await Prometheus.start([exporter.address]);
  const p = prom;
  const by = (...names: string[]) => (m: Record<string, string>) => names.map((n) => `${n}=${m[n] ?? ''}`).join(',');
  await p.expect('up{job="bpfmap"}', { 'job=bpfmap': 1 }, by('job'));
  await p.expect('flow_bytes_total', { 'saddr=10.1.0.1,sport=8080,proto=tcp': 1500, 'saddr=10.1.0.3,sport=53,proto=udp': 99 }, by('saddr', 'sport', 'proto'));
  const cpuSum = Array.from({ length: cpus }, (_, c) => 100 + c).reduce((a, b) => a + b, 0);
  await p.expect('drops_total', { 'reason=4': cpuSum }, by('reason'));
  await p.expect('drops_by_cpu_total', Object.fromEntries(Array.from({ length: cpus }, (_, c) => [`reason=4,cpu=${c}`, 100 + c])), by('reason', 'cpu'));
  // Cumulative: slot k counts values up to 2^k microseconds.
  const les: Record<string, number> = {
    'le=0.000001': 0, 'le=0.000002': 4, 'le=0.000004': 13, 'le=0.000008': 15, 'le=0.000016': 15, 'le=0.000032': 15, 'le=0.000064': 15, 'le=0.000128': 16, 'le=+Inf': 16,
  };
  await p.expect('op_latency_seconds_bucket', les, by('le'));
  await p.expect('op_latency_seconds_count', { '': 16 }, by());
  await p.expect('histogram_quantile(0.5, op_latency_seconds_bucket)', { '': 2e-6 + (4e-6 - 2e-6) * ((8 - 4) / 9) }, by());
  await p.expect('port_connections', { 'port=22': 3, 'port=443': 12 }, by('port'));

  // Replaced mid-run: the program reloads with a new map at the same pin.
  rmSync(pins.flows);
  const flows2 = keep(BpfMap.create({ kernel, type: 'hash', key: flow, value: u64, maxEntries: 64, btf: true }));
  flows2.set({ saddr: '10.9.9.9', daddr: '10.1.0.2', sport: 1, dport: 2, proto: 6 }, 7n);
  flows2.pin(pins.flows);
  await p.expect('flow_bytes_total', { 'saddr=10.9.9.9,sport=1,proto=tcp': 7 }, by('saddr', 'sport', 'proto'));
  await p.expect(`bpfmap_export_map_id{map="pinned ${pins.flows}"}`, { '': flows2.id }, by());
  await p.expect(`bpfmap_export_map_replaced_total{map="pinned ${pins.flows}"} > 0`, { '': 1 }, by());

  // Deleted: an error metric, while the other maps keep being served, and values keep moving.
  rmSync(pins.pc);
  pc.close();
  await p.until(async () => ((await p.query(`bpfmap_export_errors_total{map="pinned ${pins.pc}"}`))[0]?.value ?? 0) >= 2, 'errors for the deleted map');
  await p.expect('drops_total', {}, by('reason'));
  ports.set(443, { flags: 0, conns: 13 });
  await p.expect('port_connections', { 'port=22': 3, 'port=443': 13 }, by('port'));
  await p.expect('up{job="bpfmap"}', { 'job=bpfmap': 1 }, by('job'));
  assert.match(exporter.stderr, new RegExp(`pinned ${pins.pc}: BPF_OBJ_GET .*ENOENT`));
  assert.equal(exporter.stderr.split('\n').filter((l) => l.includes(pins.pc)).length, 1, `one log line for the deleted map:\n${exporter.stderr}`);
  assert.equal(await exporter.stop(), 0);
});
