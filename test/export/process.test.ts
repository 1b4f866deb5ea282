import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from '../../src/export/exposition.js';
import { ProcessCollector } from '../../src/export/process.js';

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in:\n${text}`);
  return Number(m[1]);
}

test("the process's own metrics, as Prometheus client libraries name them", async () => {
  const text = render(await new ProcessCollector().collect(), 'text');
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
  const user = sample(text, 'process_cpu_user_seconds_total');
  const system = sample(text, 'process_cpu_system_seconds_total');
  assert.ok(user > 0);
  assert.ok(Math.abs(sample(text, 'process_cpu_seconds_total') - (user + system)) < 1e-9);
  const rss = sample(text, 'process_resident_memory_bytes');
  assert.ok(rss > 10 << 20 && rss < 4 * 2 ** 30, `rss ${rss}`);
  assert.ok(sample(text, 'process_virtual_memory_bytes') >= rss);
  const fds = sample(text, 'process_open_fds');
  assert.ok(fds >= 3 && fds <= sample(text, 'process_max_fds'), `${fds} open fds`);
  // The start time from /proc agrees with the clock and the process's uptime, to a few seconds (/proc counts in 1/100 s).
  const start = sample(text, 'process_start_time_seconds');
  assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 5, `start ${start}`);
});
