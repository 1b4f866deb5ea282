import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Collector } from '../../src/export/exporter.js';
import { family, type Family } from '../../src/export/exposition.js';
import { Exporter, parseConfig, registerCollector } from '../../src/export/index.js';
import { parseLabels, promSamples } from '../../src/export/prom-client.js';
import { BpfMap } from '../../src/map/map.js';
import { testKernels, u32, u64 } from '../helpers/kernel.js';

/** Counts the collections made through it. */
class Counting implements Collector {
  calls = 0;
  constructor(private readonly inner: Collector) {}
  collect(signal?: AbortSignal): Promise<Family[]> {
    this.calls++;
    return this.inner.collect(signal);
  }
}

test('parseLabels reads label sets back, escapes and all', () => {
  assert.deepEqual(parseLabels(''), {});
  assert.deepEqual(parseLabels('a="x",b="q\\"uo\\\\te\\nnl",c=""'), { a: 'x', b: 'q"uo\\te\nnl', c: '' });
  assert.deepEqual(
    promSamples(
      family('f', 'F.', 'gauge', [
        ['', 1],
        ['k="v,}"', Infinity],
      ]),
    ),
    [
      { labels: {}, value: 1 },
      { labels: { k: 'v,}' }, value: Infinity },
    ],
  );
});

for (const k of testKernels()) {
  describe(`prom-client registry (${k.name})`, () => {
    test("a service's prom-client registry serves the exporter's metrics beside its own, one collection per scrape", async (t) => {
      if (!k.available(t)) return;
      using map = BpfMap.create({ kernel: k.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
      map.set(u32(1), u64(10));
      map.set(u32(2), u64(32));
      const hist = BpfMap.create({ kernel: k.kernel(), type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 });
      t.after(() => hist.close());
      hist.set(u32(1), u64(3));
      hist.set(u32(3), u64(5));
      const config = parseConfig(`
metrics:
  - { name: svc_bytes_total, help: "Bytes \\"quoted\\".", type: counter, map: id ${map.id}, labels: [{ name: k, offset: 0, size: 4 }] }
  - { name: svc_lat_seconds, help: Latency., type: histogram, map: id ${hist.id}, bucket: { offset: 0, size: 4, type: log2, min: 0, max: 3 } }
`);
      const exporter = new Counting(new Exporter(config, { kernel: k.kernel(), log: () => {} }));
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      await registerCollector(registry, exporter);
      const before = exporter.calls;
      const text = await registry.metrics();
      assert.equal(exporter.calls, before + 1, 'one collection for all the families of a scrape');
      assert.match(text, /^# TYPE svc_bytes_total counter$/m);
      assert.match(text, /^svc_bytes_total\{k="1"\} 10$/m);
      assert.match(text, /^svc_bytes_total\{k="2"\} 32$/m);
      assert.match(text, /^# HELP svc_bytes_total Bytes "quoted"\.$/m);
      assert.match(text, /^svc_lat_seconds_bucket\{le="2"\} 3$/m);
      assert.match(text, /^svc_lat_seconds_bucket\{le="\+Inf"\} 8$/m);
      assert.match(text, /^svc_lat_seconds_count 8$/m);
      assert.match(text, /^bpfmap_export_entries\{map="id \d+"\} 2$/m);
      assert.match(text, /^process_cpu_user_seconds_total /m, "prom-client's own metrics stay");
      map.set(u32(3), u64(1));
      assert.match(await registry.metrics(), /^svc_bytes_total\{k="3"\} 1$/m, 'every scrape reads the map again');
      const json = await registry.getMetricsAsJSON();
      const bytes = json.find((m) => m.name === 'svc_bytes_total');
      assert.deepEqual(bytes?.values.map((v) => [v.labels.k, v.value]).sort(), [
        ['1', 10],
        ['2', 32],
        ['3', 1],
      ]);
    });
  });
}

test('a name the registry already has stays its own; a family first seen later is served from the next scrape', async () => {
  let round = 0;
  const collector: Collector = {
    collect: async () => {
      round++;
      const out = [family('process_cpu_seconds_total', 'Not ours.', 'counter', [['', -1]]), family('early', 'E.', 'gauge', [['', round]])];
      if (round >= 2) out.push(family('late', 'L.', 'gauge', [['', round]]));
      return out;
    },
  };
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  await registerCollector(registry, collector);
  const first = await registry.metrics();
  assert.doesNotMatch(first, /process_cpu_seconds_total -1/);
  assert.match(first, /^early 2$/m);
  assert.doesNotMatch(first, /^late/m);
  assert.match(await registry.metrics(), /^late 3$/m);
});
