import { unlinkSync } from 'node:fs';
import type { Command } from 'commander';
import type { Kernel } from '../kernel/kernel.js';
import { BpfMap } from '../map/map.js';
import { alignColumns } from './columns.js';
import { integer, newCommand, withKernel } from './command.js';
import { CLI_BATCH } from './dump.js';
import { kernelFrom } from './kernel-option.js';

export const DEMO_PIN = '/sys/fs/bpf/bpfmap_demo_flows';

// struct flow { u32 saddr; u32 daddr; u16 sport; u16 dport; u8 proto; u8 pad[3]; }  (addresses and ports in network order)
const KEY_SIZE = 16;
// struct flow_stats { u64 packets; u64 bytes; }
const VALUE_SIZE = 16;
const DPORTS = [443, 80, 53, 22, 8080, 5432, 6379, 123];

/** A small deterministic PRNG (mulberry32), so every demo run shows the same flows. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n flows with heavy-tailed counters: a few elephants, many mice. */
export function demoFlows(n: number): { keys: Buffer; values: Buffer } {
  const rnd = random(42);
  const keys = Buffer.alloc(n * KEY_SIZE);
  const values = Buffer.alloc(n * VALUE_SIZE);
  for (let i = 0; i < n; i++) {
    const k = i * KEY_SIZE;
    keys.writeUInt32BE(((10 << 24) | (i & 0xffffff)) >>> 0, k);
    keys.writeUInt32BE(((192 << 24) | (168 << 16) | Math.floor(rnd() * 65536)) >>> 0, k + 4);
    keys.writeUInt16BE(1024 + Math.floor(rnd() * 64000), k + 8);
    keys.writeUInt16BE(DPORTS[Math.floor(rnd() * DPORTS.length)] as number, k + 10);
    keys[k + 12] = rnd() < 0.8 ? 6 : 17;
    const packets = Math.floor(1 + 1e7 / Math.pow(1 + rnd() * n, 1.2));
    values.writeBigUInt64LE(BigInt(packets), i * VALUE_SIZE);
    values.writeBigUInt64LE(BigInt(packets * (64 + Math.floor(rnd() * 1400))), i * VALUE_SIZE + 8);
  }
  return { keys, values };
}

function ip(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function flowCells(k: Buffer, ko: number, v: Buffer, vo: number): string[] {
  const proto = k[ko + 12] === 6 ? 'tcp' : k[ko + 12] === 17 ? 'udp' : String(k[ko + 12]);
  return [`${ip(k, ko)}:${k.readUInt16BE(ko + 8)}`, `${ip(k, ko + 4)}:${k.readUInt16BE(ko + 10)}`, proto,
    v.readBigUInt64LE(vo).toLocaleString('en-US'), v.readBigUInt64LE(vo + 8).toLocaleString('en-US')];
}

function ms(t: number): string {
  return `${t.toFixed(1)} ms`;
}

/** Creates the demo map afresh at path, filled with n flows. */
function recreate(kernel: Kernel, path: string, n: number): BpfMap {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const map = BpfMap.create({ kernel, type: 'hash', keySize: KEY_SIZE, valueSize: VALUE_SIZE, maxEntries: n, name: 'demo_flows' });
  try {
    map.updateBatch(demoFlows(n), { chunkSize: CLI_BATCH });
    map.pin(path);
  } catch (e) {
    map.close();
    throw e;
  }
  return map;
}

export function demoCommand(): Command {
  return withKernel(newCommand('demo', 'create a pinned map of 100,000 flows, read it with LOOKUP_BATCH and element by element, print the top flows and both timings', [
    'bpfmap demo',
    'bpfmap demo --entries 1000000 --top 5',
    'BPFMAP_KERNEL=emulated bpfmap demo',
  ]))
    .option('--pin <path>', 'where the demo map is pinned (recreated on every run)', DEMO_PIN)
    .option('--entries <n>', 'flows in the map', integer(1), 100_000)
    .option('--top <n>', 'flows shown', integer(1), 10)
    .action((o: { pin: string; entries: number; top: number; kernel?: string }) => {
      const kernel = kernelFrom(o.kernel);
      using map = recreate(kernel, o.pin, o.entries);
      const say = (s: string): boolean => process.stdout.write(s + '\n');
      say(`created hash map id ${map.id} "${map.name}" with ${o.entries.toLocaleString('en-US')} flows, pinned at ${o.pin} (${kernel.kind} kernel)`);
      let t = performance.now();
      const batch = map.dump({ mode: 'batch', batchSize: CLI_BATCH });
      const batchMs = performance.now() - t;
      t = performance.now();
      const walk = map.dump({ mode: 'per-element' });
      const walkMs = performance.now() - t;
      say(`read with LOOKUP_BATCH:           ${batch.count.toLocaleString('en-US')} entries in ${ms(batchMs)}`);
      say(`read with GET_NEXT_KEY + LOOKUP:  ${walk.count.toLocaleString('en-US')} entries in ${ms(walkMs)} (${(walkMs / batchMs).toFixed(1)}x the batch time)`);
      const order = Array.from({ length: batch.count }, (_, i) => i);
      const bytes = Float64Array.from(order, (i) => Number(batch.values.readBigUInt64LE(i * VALUE_SIZE + 8)));
      order.sort((a, b) => (bytes[b] as number) - (bytes[a] as number));
      say(`\ntop ${Math.min(o.top, batch.count)} flows by bytes:`);
      process.stdout.write(alignColumns(order.slice(0, o.top).map((i) => flowCells(batch.keys, i * KEY_SIZE, batch.values, i * VALUE_SIZE)),
        ['SOURCE', 'DESTINATION', 'PROTO', 'PACKETS', 'BYTES']));
      say(`\nnext: bpfmap show pinned ${o.pin}`);
      say(`      bpfmap dump pinned ${o.pin} --limit 5`);
      say(`      bpfmap watch pinned ${o.pin} --field u64@8`);
    });
}
