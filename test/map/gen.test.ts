import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import type { Codec } from '../../src/codec/codec.js';
import { generateTypeScript } from '../../src/map/gen.js';
import { BpfMap } from '../../src/map/map.js';
import type { ValueCodec } from '../../src/map/options.js';
import { testKernels } from '../helpers/kernel.js';
import { compileTs, PACKAGE_ENTRY } from '../helpers/tsc.js';
import { assertRoundTrips } from '../helpers/round-trip.js';

function types(): { b: BtfBuilder; key: number; value: number; bss: number; cpu: number } {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u16 = b.int('short unsigned int', 2);
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const u64 = b.typedef('__u64', b.int('long long unsigned int', 8));
  const be16 = b.typedef('__be16', u16);
  const be32 = b.typedef('__be32', u32);
  const state = b.enum('tcp_state', { TCP_NEW: 0, TCP_ESTABLISHED: 1, TCP_CLOSING: 2 });
  const key = b.struct('flow_key', [
    { name: 'saddr', type: be32 },
    { name: 'sport', type: be16 },
    { name: 'proto', type: u8 },
  ]);
  const addr = b.union('addr', [
    { name: 'v4', type: u32 },
    { name: 'bytes', type: b.array(u8, 4) },
  ]);
  const value = b.struct('flow', [
    { name: 'packets', type: u64 },
    { name: 'state', type: state },
    { name: 'peer', type: addr },
    { name: 'comm', type: b.array(b.int('char', 1, { char: true }), 8) },
    { name: 'hist', type: b.array(u32, 3) },
    { name: 'ratio', type: b.float('double', 8) },
    { name: 'lo', type: u32, bits: 3, bitOffset: 8 * 48 },
    { name: 'hi', type: u32, bits: 13, bitOffset: 8 * 48 + 3 },
  ]);
  const cpu = b.struct('cpu_stat', [
    { name: 'n', type: u64 },
    { name: 'ok', type: b.int('_Bool', 1, { bool: true }) },
  ]);
  const bss = b.datasec('.bss', [
    { name: 'hits', type: b.qualifier('volatile', u64) },
    { name: 'last_state', type: state },
  ]);
  return { b, key, value, bss, cpu };
}

const CONSUMER = (entry: string): string => `
import { BpfMap } from ${JSON.stringify(entry)};
import { flows, globals, per_cpu, type CpuStat, type Flow, type FlowKey, type Globals } from './maps.js';

// Typed by the generated module, with no cast: these lines compile only if openPinned infers them.
export function use(path: string): [FlowKey, Flow] | undefined {
  const m = BpfMap.openPinned(path, flows);
  const first = [...m.entries()][0];
  m.close();
  return first;
}
export function perCpu(id: number): CpuStat[] | undefined {
  const m = BpfMap.fromId(id, per_cpu);
  const v: CpuStat[] | undefined = m.get(0);
  m.close();
  return v;
}
export function bump(id: number): bigint {
  const m = BpfMap.fromId(id, globals);
  const g = m.globals<Globals>();
  g.hits = g.hits + 1n;
  g.last_state = 'TCP_CLOSING';
  const state: Globals['last_state'] = g.last_state;
  const hits = g.hits;
  m.close();
  return typeof state === 'string' ? hits : -1n;
}
`;

for (const K of testKernels()) {
  describe(`bpfmap gen on ${K.name}`, () => {
    test('a generated module compiles under strict, types openPinned with no cast, and round-trips every entry byte for byte', async (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const { b, key, value, bss, cpu } = types();
      const btf = b.btf();
      using flows = BpfMap.create<BtfValue, BtfValue>({
        kernel,
        type: 'hash',
        maxEntries: 8,
        name: 'flows',
        btf: { key: { btf, type: key }, value: { btf, type: value } },
      }) as BpfMap<BtfValue, BtfValue>;
      using pc = BpfMap.create<BtfValue, BtfValue>({
        kernel,
        type: 'percpu_array',
        maxEntries: 2,
        name: 'per_cpu',
        btf: { value: { btf, type: cpu } },
      }) as BpfMap<BtfValue, BtfValue>;
      using g = BpfMap.create<BtfValue, BtfValue>({
        kernel,
        type: 'array',
        maxEntries: 1,
        name: 'globals',
        btf: { value: { btf, type: bss } },
      }) as BpfMap<BtfValue, BtfValue>;
      flows.set(
        { saddr: 0x0100000a, sport: 0x5000, proto: 6 },
        {
          packets: 2n ** 40n,
          state: 'TCP_ESTABLISHED',
          peer: { v4: 0x04030201 },
          comm: 'curl',
          hist: [1, 2, 3],
          ratio: 0.5,
          lo: 5,
          hi: 8000,
        },
      );
      flows.set({ saddr: 2, sport: 3, proto: 17 }, { packets: 1n, state: 7, comm: '', hist: [], ratio: -1, lo: 0, hi: 1 });
      pc.set(
        0,
        Array.from({ length: pc.cpus }, (_, i) => ({ n: BigInt(i), ok: i % 2 === 1 })),
      );
      g.set(0, { hits: 41n, last_state: 'TCP_NEW' });
      const text = generateTypeScript([flows, pc, g] as BpfMap<unknown, unknown>[], { importFrom: PACKAGE_ENTRY });
      assert.match(text, /^export type TcpState = "TCP_NEW" \| "TCP_ESTABLISHED" \| "TCP_CLOSING";$/m);
      assert.match(text, /^ {2}\/\*\* __be16: network byte order \*\/\n {2}sport: number;$/m);
      assert.match(text, /^export type Globals = \{\n {2}hits: bigint;\n {2}last_state: TcpState \| number;\n\};$/m);
      assert.match(text, /^export const per_cpu = \{ key: codec<number>\(\d+\), value: perCpu\(codec<CpuStat>\(\d+\)\) \};$/m);
      using out = compileTs({ 'maps.ts': text, 'use.ts': CONSUMER(PACKAGE_ENTRY) });
      const gen = (await import(pathToFileURL(join(out.dir, 'maps.js')).href)) as Record<
        string,
        { key: Codec<unknown>; value: ValueCodec<unknown> }
      >;
      assert.equal(assertRoundTrips(kernel, flows.id, gen.flows as { key: Codec<unknown>; value: ValueCodec<unknown> }), 2);
      assert.equal(assertRoundTrips(kernel, pc.id, gen.per_cpu as { key: Codec<unknown>; value: ValueCodec<unknown> }), 2);
      assert.equal(assertRoundTrips(kernel, g.id, gen.globals as { key: Codec<unknown>; value: ValueCodec<unknown> }), 1);
      const use = (await import(pathToFileURL(join(out.dir, 'use.js')).href)) as { perCpu(id: number): unknown; bump(id: number): bigint };
      if (K.name === 'linux') {
        // The consumer opens maps with the default kernel, the real one.
        assert.deepEqual(use.perCpu(pc.id), pc.get(0));
        assert.equal(use.bump(g.id), 42n);
        assert.deepEqual(g.get(0), { hits: 42n, last_state: 'TCP_CLOSING' });
      } else {
        using typed = BpfMap.fromId(g.id, { kernel, ...(gen.globals as { key: Codec<number>; value: Codec<{ hits: bigint }> }) });
        assert.equal(typed.get(0)?.hits, 41n);
      }
    });
  });
}
