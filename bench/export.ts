// One Prometheus scrape of a map (read with batch lookups, labels decoded, exposition rendered)
// beside `bpfmap dump --format ndjson` of the same map (the CLI's read, hex formatting and
// writes to /dev/null), both in this process so neither pays for starting node.
// Run: npm run bench -- export (a row of its table), or node dist/bench/export.js [entries]
import { createWriteStream } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { entryWriter } from '../src/cli/formats.js';
import { Output } from '../src/cli/output.js';
import { progressFor } from '../src/cli/progress.js';
import { streamChunks } from '../src/cli/stream.js';
import { viewOf } from '../src/cli/view.js';
import { parseConfig } from '../src/export/config.js';
import { Exporter } from '../src/export/exporter.js';
import { renderAsync } from '../src/export/exposition.js';
import { BpfMap } from '../src/index.js';
import { walkChunks } from '../src/map/walk.js';
import { type Row, type Stats, stats, table } from './harness.js';

/**
 * ns per entry of fn, in CPU time of this process (user + system, GC threads included) and in
 * wall time: on a shared machine the CPU time is what the work costs, the wall time also counts
 * waiting for a core.
 */
async function timeAsync(reps: number, fn: () => Promise<number>): Promise<{ cpu: number[]; wall: number[] }> {
  await fn();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const n = Math.max(await fn(), 1);
    wall.push(Number(process.hrtime.bigint() - t0) / n);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / n);
  }
  return { cpu, wall };
}

export async function exportRows(n: number, reps: number): Promise<Row[]> {
  using map = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: n, name: 'bench_export' });
  const keys = Buffer.alloc(4 * n);
  const values = Buffer.alloc(8 * n);
  for (let i = 0; i < n; i++) {
    keys.writeUInt32LE(i, 4 * i);
    values.writeBigUInt64LE(BigInt(i * 3), 8 * i);
  }
  map.updateBatch({ keys, values });
  const batch = 4096;
  const devNull = createWriteStream('/dev/null');
  const dump = await timeAsync(reps, () =>
    streamChunks(walkChunks(map, 'batch', { batchSize: batch }), entryWriter('ndjson', viewOf(map, 'each'), map.keySize, map.valueBytes),
      new Output(devNull), progressFor(map, 'dump', false, { stdout: devNull, stderr: devNull })));
  devNull.end();
  const exporter = new Exporter(parseConfig(`batch_size: ${batch}
metrics:
  - { name: flow_packets_total, help: Packets., type: counter, map: id ${map.id}, max_series: ${n}, labels: [{ name: flow, offset: 0, size: 4 }] }
`), { kernel: map.kernel });
  let bytes = 0;
  const scrape = await timeAsync(reps, async () => {
    bytes = (await renderAsync(await exporter.collect(), 'text')).length;
    return n;
  });
  // The longest the event loop waits during one scrape (the server's: read and render yield
  // between batches and pieces).
  const stall = monitorEventLoopDelay({ resolution: 1 });
  stall.enable();
  await renderAsync(await exporter.collect(), 'text');
  // Let the monitor's timer run once more, so the stretch just ended is recorded.
  await new Promise((r) => setTimeout(r, 20));
  stall.disable();
  console.log(`export: longest event-loop stall during one scrape of ${n} entries: ${(stall.max / 1e6).toFixed(1)} ms; ` +
    `wall time per scrape ${(stats(scrape.wall).median * n / 1e6).toFixed(0)} ms (median), per dump ${(stats(dump.wall).median * n / 1e6).toFixed(0)} ms`);
  const dumpCpu: Stats = stats(dump.cpu);
  return [{
    suite: 'export',
    what: `one scrape of ${n} entries (${(bytes / 2 ** 20).toFixed(1)} MiB of text), CPU time`,
    unit: 'ns/entry',
    bpfmap: stats(scrape.cpu),
    baselineName: 'bpfmap dump --format ndjson (in process)',
    baseline: dumpCpu,
    ratio: stats(scrape.cpu.map((c) => c / dumpCpu.median)),
    target: 3,
  }];
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) console.log(table(await exportRows(Number(process.argv[2] ?? 100_000), 7)));
