// Descriptors and memory return to their baseline after many opens, closes, drops and abandoned walks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { linuxAvailable } from '../helpers/kernel.js';

const ROUNDS = Number(process.env.BPFMAP_LEAK_ROUNDS ?? 100_000);

const script = (rounds: number) => `
  import { BpfMap } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
  import { readdirSync } from 'node:fs';
  const fds = () => readdirSync('/proc/self/fd').length;
  const settle = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); } };
  const mem = () => { const m = process.memoryUsage(); return { rss: m.rss, js: m.heapUsed + m.external }; };
  const base = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1024 });
  const k = Buffer.alloc(4), v = Buffer.alloc(8);
  for (let i = 0; i < 1000; i++) { k.writeUInt32LE(i); base.set(k, v); }
  const phase = async (name, n, fn) => {
    // Warm-up: the JIT, caches and the allocator's arenas reach their working size first.
    for (let i = 0; i < n / 2; i++) fn(i);
    await settle();
    const f0 = fds(), m0 = mem();
    for (let i = 0; i < n; i++) fn(i);
    await settle();
    const m1 = mem();
    return { name, n, fdDelta: fds() - f0, rssDeltaMiB: (m1.rss - m0.rss) / 2 ** 20, jsDeltaMiB: (m1.js - m0.js) / 2 ** 20 };
  };
  const out = [];
  out.push(await phase('create+close', ${rounds}, () => BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }).close()));
  out.push(await phase('open by id+close', ${rounds}, () => BpfMap.fromId(base.id).close()));
  out.push(await phase('create+drop', ${Math.floor(rounds / 10)}, () => { BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 }); }));
  out.push(await phase('abandoned iterators', ${Math.floor(rounds / 10)}, (i) => {
    let n = 0;
    for (const _ of base.entries({ batchSize: 16, mode: i % 2 ? 'batch' : 'per-element' })) if (++n > 20) break;
  }));
  base.close();
  console.log(JSON.stringify(out));
`;

test('fds and memory return to baseline after create/open/close/drop and abandoned iterators', (t) => {
  if (!linuxAvailable(t)) return;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script(ROUNDS)], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const phases = JSON.parse(r.stdout) as Array<{ name: string; n: number; fdDelta: number; rssDeltaMiB: number; jsDeltaMiB: number }>;
  for (const p of phases) {
    t.diagnostic(`${p.name}: ${p.n} rounds after ${p.n / 2} warm-up, fd delta ${p.fdDelta}, JS heap+external delta ${p.jsDeltaMiB.toFixed(2)} MiB, rss delta ${p.rssDeltaMiB.toFixed(1)} MiB`);
    assert.ok(p.fdDelta <= 0, `${p.name}: fds back to baseline (delta ${p.fdDelta})`);
    // A leak of even 100 bytes per round would show as 10 MiB here.
    assert.ok(p.jsDeltaMiB < 4, `${p.name}: JS memory flat (grew ${p.jsDeltaMiB.toFixed(2)} MiB)`);
    // RSS also holds the allocator's free arenas, which wander by a few tens of MiB without growing.
    assert.ok(p.rssDeltaMiB < 48, `${p.name}: rss bounded (grew ${p.rssDeltaMiB.toFixed(1)} MiB)`);
  }
});
