import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Btf } from '../../src/btf/btf.js';
import type { BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import { btfFromId, vmlinuxBtf } from '../../src/kernel/btf.js';
import type { BtfComposite } from '../../src/btf/types.js';
import { array } from '../../src/codec/array.js';
import type { CodecType } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';
import * as c from '../../src/codec/int.js';
import { be16 } from '../../src/codec/int.js';
import { ipv4 } from '../../src/codec/ip.js';
import { struct } from '../../src/codec/struct.js';
import { union } from '../../src/codec/union.js';
import { BpfError } from '../../src/kernel/error.js';
import { BPF_BTF_GET_FD_BY_ID } from '../../src/sys/constants.js';
import { errno } from '../../src/sys/errno.js';
import { openKernel } from '../../src/kernel/open.js';
import { internal } from '../../src/map/internal.js';
import { BpfMap } from '../../src/map/map.js';
import { bpftool, runBpftool } from '../helpers/bpftool.js';
import { linuxAvailable, u32, u64 } from '../helpers/kernel.js';
import { btfKernels } from '../btf/fixtures.js';
import type { Kernel } from '../../src/kernel/kernel.js';

/** Key and value types of a flow table whose values carry a spin lock. */
function flowTypes(): Btf {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u16 = b.int('short unsigned int', 2);
  const u32t = b.int('unsigned int', 4);
  const u64t = b.int('long long unsigned int', 8);
  const s16 = b.int('short int', 2, { signed: true });
  const chr = b.int('char', 1, { char: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const state = b.enum('flow_state', { NEW: 0, ESTABLISHED: 1, CLOSING: 2 });
  b.struct('flow_key', [
    { name: 'saddr', type: u32t },
    { name: 'daddr', type: u32t },
    { name: 'sport', type: u16 },
    { name: 'dport', type: u16 },
    { name: 'proto', type: u8 },
  ]);
  b.struct('flow', [
    { name: 'lock', type: b.spinLock() },
    { name: 'packets', type: u64t },
    { name: 'bytes', type: u64t },
    { name: 'app', type: b.array(chr, 12) },
    { name: 'state', type: state },
    { name: 'delta', type: s16 },
    { name: 'seen', type: bool },
    { name: 'ports', type: b.array(u16, 3) },
    // Whole-byte bitfields only: beside a bpf_spin_lock the kernel refuses members that do not
    // start on a byte (its search for special fields stops there).
    { name: 'lo', type: u32t, bits: 8, bitOffset: 58 * 8 },
    { name: 'hi', type: u32t, bits: 12, bitOffset: 59 * 8 },
  ], { size: 64 });
  return b.btf();
}

type Flow = { [k: string]: BtfValue };

function flowMap(kernel: Kernel, name: string, type: 'hash' | 'array' = 'hash'): BpfMap<BtfValue, BtfValue> {
  const btf = flowTypes();
  return BpfMap.create<BtfValue, BtfValue>({
    kernel,
    type,
    maxEntries: 16,
    name,
    btf: type === 'hash' ? { key: { btf, type: 'struct flow_key' }, value: { btf, type: 'struct flow' } } : { value: { btf, type: 'struct flow' } },
  }) as BpfMap<BtfValue, BtfValue>;
}

const key = (n: number): Flow => ({ saddr: 0x0a000001, daddr: 0x0a000000 + n, sport: 1000 + n, dport: 443, proto: 6 });
const flow = (n: number): Flow => ({
  packets: BigInt(n * 10), bytes: BigInt(n * 1500), app: `app${n}`, state: n % 2 ? 'ESTABLISHED' : 'CLOSING',
  delta: n === 0 ? 0 : -n, seen: n % 2 === 1, ports: [n, n + 1, n + 2], lo: n % 256, hi: 4000 + n,
});
const withLock = (f: Flow): Flow => ({ lock: { val: 0 }, ...f });

for (const K of btfKernels()) {
  describe(`maps with BTF on ${K.name}`, () => {
    test('encode -> BTF_LOAD -> map create -> the map\'s btf_id reads back the same types, decoded', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      const types = flowTypes();
      using m = flowMap(kernel, 'btf_flows');
      const info = m.info();
      assert.ok(info.btfId > 0 && info.btfKeyTypeId > 0 && info.btfValueTypeId > 0);
      const back = btfFromId(info.btfId, kernel);
      assert.equal(back.describe(info.btfKeyTypeId), 'struct flow_key');
      assert.equal(back.describe(info.btfValueTypeId), 'struct flow');
      const names = (b: Btf, id: number): string[] => (b.type(id) as BtfComposite).members.map((x) => `${x.name}@${x.bitOffset}/${x.bitSize}:${b.describe(x.type)}`);
      assert.deepEqual(names(back, info.btfValueTypeId), names(types, types.get('struct flow')));
      assert.deepEqual(names(back, info.btfKeyTypeId), names(types, types.get('struct flow_key')));
      for (let n = 1; n <= 3; n++) m.set(key(n), flow(n));
      for (let n = 1; n <= 3; n++) assert.deepEqual(m.get(key(n)), withLock(flow(n)));
      // Opened again by id, with no codecs: typed through the map's own BTF, or raw on request.
      using again = BpfMap.fromId<BtfValue, BtfValue>(m.id, { kernel });
      assert.deepEqual(again.get(key(2)), withLock(flow(2)));
      using raw = BpfMap.fromId(m.id, { raw: true, kernel });
      const rawValue = raw.get(m[internal].encodeKey(key(2)));
      assert.ok(Buffer.isBuffer(rawValue));
      assert.deepEqual(m.valueCodec.decode(rawValue, 0), withLock(flow(2)));
    });


    test('a kernel type (vmlinux struct iphdr, with bitfields) as a map value', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      const vmlinux = vmlinuxBtf();
      using m = BpfMap.create<BtfValue, BtfValue>({ kernel, type: 'array', maxEntries: 2, btf: { value: { btf: vmlinux, type: 'struct iphdr' } } }) as BpfMap<BtfValue, BtfValue>;
      assert.equal(m.valueSize, vmlinux.sizeOf(vmlinux.get('struct iphdr')));
      // __be16/__be32/__sum16 members are network-order numbers: the bytes below are the packet's.
      const hdr = { ihl: 5, version: 4, tos: 0, tot_len: 0x54, id: 0x1234, frag_off: 0x4000, ttl: 64, protocol: 1, check: 0xb7e7, saddr: 0xc0a80001, daddr: 0xc0a80002 };
      m.set(1, hdr);
      const raw = BpfMap.fromId(m.id, { raw: true, kernel });
      try {
        assert.equal((raw.get(u32(1)) as Buffer).toString('hex'), '45000054123440004001b7e7c0a80001c0a80002');
      } finally {
        raw.close();
      }
      assert.deepEqual(m.get(1), { ...hdr, addrs: { saddr: hdr.saddr, daddr: hdr.daddr } });
      using host = BpfMap.fromId<number, BtfValue>(m.id, { kernel, byteOrder: 'host' });
      assert.deepEqual(host.get(1), { ...hdr, tot_len: 0x5400, id: 0x3412, frag_off: 0x40, check: 0xe7b7, saddr: 0x0100a8c0, daddr: 0x0200a8c0,
        addrs: { saddr: 0x0100a8c0, daddr: 0x0200a8c0 } }, "byteOrder 'host': the numbers a BPF program reads");
    });


    test('per-CPU maps with BTF decode one value per CPU', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      const b = new BtfBuilder();
      const c = b.struct('stat', [{ name: 'n', type: b.int('unsigned int', 4) }, { name: 'ok', type: b.int('_Bool', 1, { bool: true }) }]);
      using m = BpfMap.create<BtfValue, BtfValue>({ kernel, type: 'percpu_array', maxEntries: 1, btf: { value: { btf: b.btf(), type: c } } }) as BpfMap<BtfValue, BtfValue>;
      const values = Array.from({ length: m.cpus }, (_, i) => ({ n: i * 3, ok: i % 2 === 0 }));
      m.set(0, values);
      assert.deepEqual(m.get(0), values);
    });


    test('per-CPU values typed by BTF sum exactly: entriesSummed, sumCpus, and an error naming a field that cannot', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const b = new BtfBuilder();
      const u64t = b.int('long long unsigned int', 8);
      const st = b.struct('pkt', [{ name: 'packets', type: u64t }, { name: 'hist', type: b.array(b.int('unsigned int', 4), 2) }]);
      using m = BpfMap.create<BtfValue, BtfValue>({ kernel, type: 'percpu_array', maxEntries: 2, btf: { value: { btf: b.btf(), type: st } } }) as BpfMap<BtfValue, BtfValue>;
      m.set(1, Array.from({ length: m.cpus }, (_, i) => ({ packets: 2n ** 62n, hist: [i, 1] })));
      const n = BigInt(m.cpus);
      const want = { packets: n * 2n ** 62n, hist: [(m.cpus * (m.cpus - 1)) / 2, m.cpus] };
      // Opened again without codecs: the codecs come from the map's own BTF.
      using again = BpfMap.fromId(m.id, { kernel });
      assert.deepEqual([...again.entriesSummed()], [[0, { packets: 0n, hist: [0, 0] }], [1, want]]);
      assert.deepEqual(again.sumCpus(again.get(1) as never), want);
      const named = b.struct('named', [{ name: 'n', type: u64t }, { name: 'comm', type: b.array(b.int('char', 1, { char: true }), 8) }]);
      using s = BpfMap.create<BtfValue, BtfValue>({ kernel, type: 'percpu_array', maxEntries: 1, btf: { value: { btf: b.btf(), type: named } } }) as BpfMap<BtfValue, BtfValue>;
      assert.throws(() => s.entriesSummed(), { name: 'TypeError', message: /entriesSummed: struct named values cannot be added \(struct named\.comm is char\[8\], a string, which cannot be summed\)/ });
    });


    test('bad BTF references and mismatched sizes are clear errors before the map exists', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      const btf = flowTypes();
      assert.throws(() => BpfMap.create({ kernel, type: 'hash', maxEntries: 1, btf: { key: { btf, type: 'struct nope' }, value: { btf, type: 'struct flow' } } }), /"struct nope" is not in the given BTF/);
      assert.throws(() => BpfMap.create({ kernel, type: 'hash', maxEntries: 1, valueSize: 8, btf: { key: { btf, type: 'struct flow_key' }, value: { btf, type: 'struct flow' } } }), /64-byte values, but the map would have \d+ and 8/);
      assert.throws(() => BpfMap.create({ kernel, type: 'hash', maxEntries: 1, btf: { value: { btf, type: 'struct flow' } } }), /keySize/);
    });
  });

  test(`${K.name}: a map whose BTF cannot be read (BTF_GET_FD_BY_ID refused) opens with raw bytes`, (t) => {
    if (!K.available(t)) return;
    const kernel = K.kernel();
    using m = flowMap(kernel, 'btf_refused');
    m.set(key(1), flow(1));
    // As for a process with CAP_BPF but not CAP_SYS_ADMIN.
    const refusing: Kernel = Object.create(kernel, {
      btfFdById: { value: () => { throw new BpfError(BPF_BTF_GET_FD_BY_ID, errno.EPERM); } },
    }) as Kernel;
    using raw = BpfMap.fromId(m.id, { kernel: refusing });
    const v = raw.get(m[internal].encodeKey(key(1)));
    assert.ok(Buffer.isBuffer(v));
    assert.deepEqual(m.valueCodec.decode(v, 0), withLock(flow(1)));
  });

  describe(`BPF_F_LOCK on ${K.name}`, () => {
    test('get/set with lock on a spin-locked value', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      using m = flowMap(kernel, 'lock_single');
      m.set(key(1), flow(1), { lock: true, flags: 'noexist' }); // BPF_F_LOCK on create: the kernel copies without the lock word
      assert.deepEqual(m.get(key(1), { lock: true }), withLock(flow(1)));
      m.set(key(1), flow(5), { lock: true, flags: 'exist' });
      assert.deepEqual(m.get(key(1), { lock: true }), withLock(flow(5)));
      assert.throws(() => m.set(key(9), flow(9), { lock: true, flags: 'exist' }), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
    });

    test('lookupBatch/updateBatch with lock on a spin-locked value', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      using m = flowMap(kernel, 'lock_batch');
      const n = 10;
      const entries = Array.from({ length: n }, (_, i) => [key(i), flow(i)] as const);
      assert.equal(m.updateBatch(entries, { lock: true }), n);
      const got = m.lookupBatch({ lock: true, count: 16 });
      assert.equal(got.count, n);
      const seen = new Map(got.keys.map((k, i) => [JSON.stringify(k), got.values[i]]));
      for (const [k, v] of entries) assert.deepEqual(seen.get(JSON.stringify(k)), withLock(v));
      // The per-element walk's lookups carry BPF_F_LOCK too.
      const walked = m.entries({ mode: 'per-element', lock: true, batchSize: 4 }).toArray();
      assert.equal(walked.length, n);
      const byKey = new Map(walked.map(([k, v]) => [JSON.stringify(k), v]));
      for (const [k, v] of entries) assert.deepEqual(byKey.get(JSON.stringify(k)), withLock(v));
    });

    test('lock on a map without a spin lock is EINVAL with a hint, single and batch', (t) => {
      if (!K.available(t)) return;
        const kernel = K.kernel();
      using m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4, name: 'no_lock' });
      m.set(u32(1), u64(1));
      const einval = (e: unknown): boolean => {
        assert.ok(e instanceof BpfError, String(e));
        assert.equal(e.code, 'EINVAL');
        assert.match(e.message, /BPF_F_LOCK needs a map whose value holds a struct bpf_spin_lock/);
        return true;
      };
      assert.throws(() => m.get(u32(1), { lock: true }), einval);
      assert.throws(() => m.set(u32(1), u64(2), { lock: true }), einval);
      assert.throws(() => m.lookupBatch({ lock: true }), einval);
      assert.throws(() => m.entries({ mode: 'per-element', lock: true }).toArray(), (e: unknown) => {
        einval(e);
        assert.match((e as Error).message, /BPF_MAP_LOOKUP_ELEM/);
        assert.match((e as Error).message, /no_lock/, 'the error names the map');
        return true;
      });
      assert.throws(() => m.updateBatch([[u32(2), u64(2)]], { lock: true }), einval);
      assert.deepEqual(m.get(u32(1)), u64(1), 'nothing was written');
    });
  });
}

describe('maps with BTF as bpftool sees them (real kernel)', () => {
  test('bpftool map dump -j prints the field names and values bpfmap decodes', (t) => {
    if (!linuxAvailable(t)) return;
    const tool = bpftool(t);
    if (!tool) return;
    using flows = flowMap(openKernel(), 'btf_dump');
    for (let n = 1; n <= 4; n++) flows.set(key(n), flow(n));
    // A kernel type too: sub-byte bitfields and anonymous unions, as programs' maps have them.
    const vmlinux = vmlinuxBtf();
    using hdrs = BpfMap.create<BtfValue, BtfValue>({ type: 'array', maxEntries: 3, btf: { value: { btf: vmlinux, type: 'struct iphdr' } } }) as BpfMap<BtfValue, BtfValue>;
    for (let n = 0; n < 3; n++) hdrs.set(n, { ihl: 5 + n, version: 4, ttl: 64 - n, protocol: 6, tot_len: 40 + n, saddr: 0x0100000a + n, daddr: 0x0200000a });
    // Representation differences, not value differences: bpftool prints bitfields as hex
    // strings and nests anonymous members under "" keys (bpfmap merges them into the parent, as
    // C does); u64s are JSON numbers (everything here is below 2^53).
    const normalize = (v: unknown): unknown => {
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && /^0x[0-9a-f]+$/.test(v)) return Number(v);
      if (Array.isArray(v)) return v.map(normalize);
      if (typeof v !== 'object' || v === null) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const n = normalize(x);
        if (k === '' && typeof n === 'object' && n !== null) Object.assign(out, n);
        else out[k] = n;
      }
      return out;
    };
    for (const m of [flows, hdrs]) {
      const dumped = JSON.parse(runBpftool(tool, ['map', 'dump', 'id', String(m.id), '-j'])) as Array<{ formatted: { key: unknown; value: unknown } }>;
      const theirs = dumped.map((e) => normalize(e.formatted));
      // bpftool prints every integer in host order, __be ones too.
      using host = BpfMap.fromId<BtfValue, BtfValue>(m.id, { byteOrder: 'host' });
      const ours = [...host.entries()].map(([k, v]) => normalize({ key: k, value: v }));
      const byKey = (a: unknown, b: unknown) => JSON.stringify((a as { key: unknown }).key).localeCompare(JSON.stringify((b as { key: unknown }).key));
      assert.equal(theirs.length, m === flows ? 4 : 3);
      assert.deepEqual(theirs.sort(byKey), ours.sort(byKey));
    }
  });


  test('codec descriptions become the map\'s BTF: bpftool and a BTF-typed open see the same values', (t) => {
    if (!linuxAvailable(t)) return;
    const tool = bpftool(t);
    if (!tool) return;
    // No float member: bpftool 7.1 prints "(unsupported-kind" for them, which breaks its JSON.
    const stats = struct({
      hits: c.u64, app: cstring(8), ports: array(c.u16, 2), addr: ipv4, port: be16,
      v: union({ i: c.i32, b: array(c.u8, 4) }),
    }, { name: 'stats' });
    const value = { hits: 5n, app: 'nginx', ports: [80, 443], addr: '10.0.0.1', port: 8080, v: { i: -2, b: [254, 255, 255, 255] } };
    // Both forms: codecs named in btf, and btf: true describing the map's codecs.
    type Stats = CodecType<typeof stats>;
    using a = BpfMap.create<number, Stats>({ type: 'hash', maxEntries: 4, name: 'btf_codecs', btf: { key: c.u32, value: stats } });
    using b = BpfMap.create<number, Stats>({ type: 'hash', maxEntries: 4, key: c.u32, value: stats, btf: true });
    for (const m of [a, b]) {
      m.set(7, value);
      assert.deepEqual(m.get(7), value, 'the map keeps the given codecs');
      const info = m.info();
      const btf = btfFromId(info.btfId);
      assert.equal(btf.describe(info.btfValueTypeId), 'struct stats');
      assert.deepEqual((btf.type(info.btfValueTypeId) as BtfComposite).members.map((x) => [x.name, x.bitOffset / 8]),
        stats.fields.map((f) => [f.name, f.offset]));
      using typed = BpfMap.fromId<BtfValue, BtfValue>(m.id);
      const decoded = typed.get(7);
      // Through BTF, the __be32 address and __be16 port are network-order numbers; bpftool prints the raw host-order ones.
      assert.deepEqual(decoded, { ...value, addr: 0x0a000001, port: 8080 });
      const dumped = JSON.parse(runBpftool(tool, ['map', 'dump', 'id', String(m.id), '-j'])) as Array<{ formatted: unknown }>;
      assert.deepEqual(dumped.map((e) => e.formatted), [{ key: 7, value: { ...value, hits: 5, addr: 0x0100000a, port: 0x901f } }]);
    }
  });

});
