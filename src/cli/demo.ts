import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { BPFFS, MOUNT_BPFFS, onBpffs } from '../kernel/bpffs.js';
import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import type { CodecType } from '../codec/codec.js';
import { be16, u64, u8 } from '../codec/int.js';
import { ipv4 } from '../codec/ip.js';
import { struct } from '../codec/struct.js';
import type { Dump } from '../map/dump.js';
import { BpfMap } from '../map/map.js';
import { alignColumns, humanBytes } from './columns.js';
import { integer, newCommand, withKernel } from './command.js';
import { CLI_BATCH } from './defaults.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';

export const DEMO_PIN = '/sys/fs/bpf/bpfmap_demo_flows';
const DEMO_NAME = 'demo_flows';

/** struct flow: addresses and ports in network order, as a packet carries them (16 bytes with padding). */
export const flowKey = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });
/** struct flow_stats: counters. */
export const flowStats = struct({ packets: u64, bytes: u64 }, { name: 'flow_stats' });
type FlowKey = CodecType<typeof flowKey>;
type FlowStats = CodecType<typeof flowStats>;
type FlowMap = BpfMap<FlowKey, FlowStats>;

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

/** n flows with heavy-tailed counters (a few elephants, many mice), packed as the map stores them. */
export function demoFlows(n: number): { keys: Buffer; values: Buffer } {
  const rnd = random(42);
  const keys = Buffer.alloc(n * flowKey.size);
  const values = Buffer.alloc(n * flowStats.size);
  for (let i = 0; i < n; i++) {
    flowKey.encode({
      saddr: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`,
      daddr: `192.168.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`,
      sport: 1024 + Math.floor(rnd() * 64000),
      dport: DPORTS[Math.floor(rnd() * DPORTS.length)] as number,
      proto: rnd() < 0.8 ? 6 : 17,
    }, keys, i * flowKey.size);
    const packets = Math.floor(1 + 1e7 / Math.pow(1 + rnd() * n, 1.2));
    flowStats.encode({ packets: BigInt(packets), bytes: BigInt(packets * (64 + Math.floor(rnd() * 1400))) }, values, i * flowStats.size);
  }
  return { keys, values };
}

function flowCells(d: Dump<FlowKey, FlowStats>, i: number): string[] {
  const k = d.key(i);
  const v = d.value(i);
  const proto = k.proto === 6 ? 'tcp' : k.proto === 17 ? 'udp' : String(k.proto);
  return [`${k.saddr}:${k.sport}`, `${k.daddr}:${k.dport}`, proto, v.packets.toLocaleString('en-US'), v.bytes.toLocaleString('en-US')];
}

function ms(t: number): string {
  return `${t.toFixed(1)} ms`;
}

/**
 * A fresh machine has no bpf filesystem at /sys/fs/bpf: as root, mount one there (what the test
 * script does) so the demo's pin works, and say so. Otherwise the pin fails with the fix in its hint.
 */
function mountBpffsFor(kernel: Kernel, path: string): string | undefined {
  if (kernel.kind !== 'linux' || !path.startsWith(`${BPFFS}/`) || process.getuid?.() !== 0 || onBpffs(BPFFS) !== false) return undefined;
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { encoding: 'utf8' });
  if (r.status !== 0 || onBpffs(BPFFS) !== true) return undefined;
  return `no bpf filesystem was mounted at ${BPFFS}: mounted one (${MOUNT_BPFFS})`;
}

/** Creates the demo map afresh at path, filled with n flows. */
function recreate(kernel: Kernel, path: string, n: number): FlowMap {
  kernel.unpin(path);
  // btf: true describes the codecs to the kernel, so dump, show and bpftool print typed flows.
  const map = BpfMap.create({ kernel, type: 'hash', key: flowKey, value: flowStats, maxEntries: n, name: DEMO_NAME, btf: true });
  try {
    map.updateBatch(demoFlows(n), { chunkSize: CLI_BATCH });
    map.pin(path);
  } catch (e) {
    map.close();
    throw e;
  }
  return map;
}

/** The command that removes the demo's pin: `bpfmap demo --clean`, with the --pin and --kernel it was made with. */
function cleanCommand(path: string, kernel: Kernel, chosen: string | undefined): string {
  return `bpfmap demo --clean${path === DEMO_PIN ? '' : ` --pin ${path}`}${chosen ? ` --kernel ${kernel.kind}` : ''}`;
}

/**
 * Removes the demo map's pin; a pin that holds anything but a demo map is left alone (--clean with
 * a mistyped --pin must not remove someone's map). Returns what it did, for the user.
 */
function clean(kernel: Kernel, path: string): string {
  let name: string;
  try {
    using map = BpfMap.openPinned(path, { kernel, raw: true, readOnly: true });
    name = map.name;
  } catch (e) {
    if (e instanceof BpfError && e.code === 'ENOENT') return `nothing is pinned at ${path}: nothing to remove`;
    throw e;
  }
  if (name !== DEMO_NAME) throw new UsageError(`${path} holds the map "${name}", not the demo's "${DEMO_NAME}": left alone (remove it yourself with rm ${path})`);
  kernel.unpin(path);
  return `removed the demo map pinned at ${path}: the kernel frees its memory once nothing else (a program, another pin) holds it`;
}

export function demoCommand(io: CliIo): Command {
  return withKernel(newCommand('demo', 'create a pinned map of 100,000 flows, read it with LOOKUP_BATCH and element by element, print the top flows and both timings', [
    'bpfmap demo',
    'bpfmap demo --entries 1000000 --top 5',
    'BPFMAP_KERNEL=emulated bpfmap demo',
  ]))
    .option('--pin <path>', 'where the demo map is pinned (recreated on every run)', DEMO_PIN)
    .option('--entries <n>', 'flows in the map', integer(1), 100_000)
    .option('--top <n>', 'flows shown', integer(1), 10)
    .option('--clean', 'remove the demo map (its pin) instead, and the kernel memory it holds')
    .action((o: { pin: string; entries: number; top: number; clean?: boolean; kernel?: string }) => {
      const kernel = kernelFrom(o.kernel, io);
      const say = (s: string): boolean => io.stdout.write(s + '\n');
      if (o.clean) {
        say(clean(kernel, o.pin));
        return;
      }
      const mounted = mountBpffsFor(kernel, o.pin);
      if (mounted) say(mounted);
      using map = recreate(kernel, o.pin, o.entries);
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
      const bytes = Float64Array.from(order, (i) => Number(batch.value(i).bytes));
      order.sort((a, b) => (bytes[b] as number) - (bytes[a] as number));
      say(`\ntop ${Math.min(o.top, batch.count)} flows by bytes:`);
      io.stdout.write(alignColumns(order.slice(0, o.top).map((i) => flowCells(batch, i)),
        ['SOURCE', 'DESTINATION', 'PROTO', 'PACKETS', 'BYTES']));
      say(`\nnext: bpfmap show pinned ${o.pin}`);
      say(`      bpfmap dump pinned ${o.pin} --limit 5`);
      say(`      bpfmap watch pinned ${o.pin} --field bytes`);
      say(`\nthe map holds ${humanBytes(kernel.mapMemory(map.fd))} of kernel memory while pinned: remove it with ${cleanCommand(o.pin, kernel, o.kernel)}`);
    });
}
