import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Collector } from '../../src/export/exporter.js';
import { family, type Family } from '../../src/export/exposition.js';
import { MetricsServer, parseListen } from '../../src/export/server.js';
import { BpfMap } from '../../src/map/map.js';
import { ExporterProcess } from '../helpers/exporter.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

/** A collector that counts its collections and takes a while, so scrapes overlap. */
class SlowCollector implements Collector {
  calls = 0;
  async collect(): Promise<Family[]> {
    const n = ++this.calls;
    await new Promise((r) => setTimeout(r, 100));
    return [family('collections_total', 'Collections.', 'counter', [['', n]])];
  }
}

test('scrapes that overlap share one collection; Accept picks the format; other paths and methods are refused', async (t) => {
  const c = new SlowCollector();
  const server = new MetricsServer(c);
  const addr = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  const url = `http://127.0.0.1:${addr.port}`;
  const bodies = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/metrics`).then((r) => r.text())));
  assert.equal(c.calls, 1);
  for (const b of bodies) assert.equal(b, '# HELP collections_total Collections.\n# TYPE collections_total counter\ncollections_total 1\n');
  const om = await fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.equal(om.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.equal(await om.text(), '# HELP collections Collections.\n# TYPE collections counter\ncollections_total 2\n# EOF\n');
  // gzip when asked (fetch asks, and inflates), identity otherwise.
  const zipped = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
    get(`${url}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
  assert.equal(zipped.encoding, 'gzip');
  assert.equal(gunzipSync(zipped.body).toString(), '# HELP collections_total Collections.\n# TYPE collections_total counter\ncollections_total 3\n');
  const plain = await new Promise<string | undefined>((resolve, reject) => {
    get(`${url}/metrics`, (res) => {
      res.resume();
      resolve(res.headers['content-encoding']);
    }).on('error', reject);
  });
  assert.equal(plain, undefined);
  const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  assert.equal((await fetch(`${url}/nope`)).status, 404);
  assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${url}/`)).status, 200);
});

test('parseListen', () => {
  assert.deepEqual(parseListen('127.0.0.1:9435'), { host: '127.0.0.1', port: 9435 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
  for (const bad of ['9435', '127.0.0.1:', '127.0.0.1:99999', ':80', 'a b:1']) assert.equal(typeof parseListen(bad), 'string', bad);
});

// Load: 20 scrapers in a loop against a 100,000-entry map. `npm run soak` runs two minutes and
// checks the exporter's memory is flat over the second; the normal suite runs a few seconds.
const soak = process.env.BPFMAP_SOAK === '1';
const LOAD_SECONDS = soak ? 120 : 4;
const ENTRIES = 100_000;
const SCRAPERS = 20;

test(`${SCRAPERS} concurrent scrapers for ${LOAD_SECONDS} s against a ${ENTRIES}-entry map: no failed scrape${soak ? ', memory flat after the first minute' : ''}`, { timeout: (LOAD_SECONDS + 60) * 1000 }, async (t) => {
  if (!linuxAvailable(t)) return;
  const path = pinPath('export-load');
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-export-load-'));
  let exporter: ExporterProcess | undefined;
  t.after(async () => {
    await exporter?.stop();
    rmSync(path, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  {
    using m = BpfMap.create({ kernel: LINUX.kernel(), type: 'hash', keySize: 4, valueSize: 8, maxEntries: ENTRIES });
    const keys = Buffer.alloc(4 * ENTRIES);
    const values = Buffer.alloc(8 * ENTRIES);
    for (let i = 0; i < ENTRIES; i++) {
      keys.writeUInt32LE(i, 4 * i);
      values.writeBigUInt64LE(BigInt(i * 3), 8 * i);
    }
    m.updateBatch({ keys, values });
    m.pin(path);
  }
  const config = join(dir, 'load.yaml');
  writeFileSync(config, `metrics:\n  - { name: flow_packets_total, help: Packets., type: counter, map: pinned ${path}, max_series: ${ENTRIES}, labels: [{ name: flow, offset: 0, size: 4 }] }\n`);
  exporter = await ExporterProcess.start(['--config', config]);
  const ex = exporter;
  const first = await ex.scrape();
  assert.equal(first.body.split('\n').filter((l) => l.startsWith('flow_packets_total{')).length, ENTRIES);
  assert.ok(first.body.includes('flow_packets_total{flow="99999"} 299997\n'));
  const complete = `bpfmap_export_entries{map="pinned ${path}"} ${ENTRIES}\n`;

  const start = Date.now();
  const end = start + LOAD_SECONDS * 1000;
  const latencies: number[] = [];
  const failures: string[] = [];
  const rss: { at: number; bytes: number }[] = [];
  const sampler = setInterval(() => rss.push({ at: Date.now() - start, bytes: ex.rss() }), 1000);
  const scraper = async (): Promise<void> => {
    while (Date.now() < end) {
      const t0 = Date.now();
      try {
        const r = await ex.scrape();
        if (r.status !== 200 || !r.body.includes(complete) || !r.body.endsWith('\n')) failures.push(`status ${r.status}, ${r.body.length} bytes`);
      } catch (e) {
        failures.push((e as Error).message);
      }
      latencies.push(Date.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: SCRAPERS }, scraper));
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] as number;
  t.diagnostic(`${latencies.length} scrapes in ${LOAD_SECONDS} s by ${SCRAPERS} scrapers (${(latencies.length / LOAD_SECONDS).toFixed(1)}/s); latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies.at(-1)} ms; exporter RSS ${rss.map((s) => mb(s.bytes)).filter((_, i) => i % Math.max(1, Math.floor(rss.length / 12)) === 0).join(' ')} MiB`);
  assert.deepEqual(failures, []);
  assert.ok(latencies.length >= SCRAPERS, 'every scraper finished at least one scrape');
  if (soak) {
    // Flat after the first minute: nothing in the second minute above the first minute's peak by more than 10%.
    const firstPeak = Math.max(...rss.filter((s) => s.at <= 60_000).map((s) => s.bytes));
    const secondPeak = Math.max(...rss.filter((s) => s.at > 60_000).map((s) => s.bytes));
    t.diagnostic(`RSS peak: first minute ${mb(firstPeak)} MiB, second minute ${mb(secondPeak)} MiB`);
    assert.ok(secondPeak <= firstPeak * 1.1, `RSS grew from ${mb(firstPeak)} to ${mb(secondPeak)} MiB`);
  }
});
