import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MapsCollector } from '../../src/export/maps.js';
import { render } from '../../src/export/exposition.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfMap } from '../../src/map/map.js';
import { u32, u64 } from '../../src/index.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';
import { prometheusAvailable, promtoolCheck } from '../helpers/prometheus.js';

function memlock(fd: number): number {
  return Number(/^memlock:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]);
}

test("--maps: every map's type, max entries, entries, fill ratio and memory", async (t) => {
  if (!linuxAvailable(t)) return;
  const kernel = LINUX.kernel();
  using hash = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 40, name: 'exp_meta_hash' });
  for (let i = 0; i < 30; i++) hash.set(i, 1n);
  using arr = BpfMap.create({ kernel, type: 'percpu_array', keySize: 4, valueSize: 16, maxEntries: 3, name: 'exp_meta_arr' });
  using q = BpfMap.create({ kernel, type: 'queue', keySize: 0, valueSize: 4, maxEntries: 5, name: 'exp_meta_q' });
  const text = render(await new MapsCollector(kernel, 16).collect(), 'text');
  const line = (name: string, m: BpfMap<unknown, unknown>): number | undefined => {
    const l = text.split('\n').find((x) => x.startsWith(`${name}{id="${m.id}",`));
    return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
  };
  assert.ok(text.includes(`bpfmap_map_max_entries{id="${hash.id}",name="exp_meta_hash",type="hash"} 40\n`), text);
  assert.equal(line('bpfmap_map_entries', hash), 30, 'counted in batches of 16 (two calls and the end)');
  assert.equal(line('bpfmap_map_fill_ratio', hash), 0.75);
  assert.equal(line('bpfmap_map_memory_bytes', hash), memlock(hash.fd));
  assert.equal(line('bpfmap_map_entries', arr), 3);
  assert.equal(line('bpfmap_map_fill_ratio', arr), 1);
  assert.equal(line('bpfmap_map_memory_bytes', arr), memlock(arr.fd));
  assert.ok(text.includes(`bpfmap_map_size_bytes{id="${arr.id}",name="exp_meta_arr",type="percpu_array",part="value"} 16\n`));
  assert.equal(line('bpfmap_map_max_entries', q), 5);
  assert.equal(line('bpfmap_map_entries', q), undefined, 'a queue cannot be walked');
  if (prometheusAvailable(t)) assert.deepEqual(promtoolCheck(text), { status: 0, output: '' });
});

test('--maps on the emulated kernel: entries counted, memory estimated from the sizes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-emu-maps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = new EmulatedKernel({ dir });
  using hash = BpfMap.create({ kernel, type: 'hash', key: u32, value: u64, maxEntries: 10, name: 'emu_meta' });
  for (let i = 0; i < 4; i++) hash.set(i, 1n);
  const text = render(await new MapsCollector(kernel, 3).collect(), 'text');
  const labels = `{id="${hash.id}",name="emu_meta",type="hash"}`;
  assert.ok(text.includes(`bpfmap_map_entries${labels} 4\n`), text);
  assert.ok(text.includes(`bpfmap_map_fill_ratio${labels} 0.4\n`), text);
  assert.ok(text.includes(`bpfmap_map_memory_bytes${labels} ${10 * (8 + 8)}\n`), text);
});
