import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { BtfError } from '../../src/btf/error.js';
import { encodeBtf } from '../../src/btf/encode.js';
import { parseBtf } from '../../src/btf/parse.js';
import type { BtfComposite, BtfType } from '../../src/btf/types.js';
import { bpftool, rawLine, runBpftool } from '../helpers/bpftool.js';
import { everyKind } from './fixtures.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

let blob: Buffer | undefined;

function vmlinux(t: TestContext): Buffer | null {
  if (existsSync(VMLINUX)) return (blob ??= readFileSync(VMLINUX));
  if (process.env.CI === 'true') throw new Error(`CI needs ${VMLINUX} (CONFIG_DEBUG_INFO_BTF)`);
  t.skip(`${VMLINUX} is missing`);
  return null;
}

/** Splits bpftool's raw dump into one block per type (header line plus member lines). */
function rawBlocks(dump: string): string[] {
  return dump.trimEnd().split(/\n(?=\[\d+\] )/);
}

describe('parseBtf on this machine\'s vmlinux', () => {
  test('every type prints exactly as bpftool btf dump format raw prints it', (t) => {
    const blob = vmlinux(t);
    const tool = blob && bpftool(t);
    if (!blob || !tool) return;
    const btf = parseBtf(blob);
    const theirs = rawBlocks(runBpftool(tool, ['btf', 'dump', 'file', VMLINUX, 'format', 'raw']));
    assert.equal(btf.count - 1, theirs.length, 'type count');
    let mismatches = 0;
    for (let id = 1; id < btf.count; id++) {
      if (rawLine(btf, id) === theirs[id - 1]) continue;
      if (mismatches++ === 0) assert.equal(rawLine(btf, id), theirs[id - 1], `type ${id}`);
    }
    assert.equal(mismatches, 0);
    const kinds = new Set(btf.types.map((x) => x.kind));
    for (const k of ['int', 'ptr', 'array', 'struct', 'union', 'enum', 'enum64', 'fwd', 'typedef', 'volatile', 'const',
      'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag'])
      assert.ok(kinds.has(k as BtfType['kind']), `vmlinux has a ${k}`);
  });

  test('struct task_struct and struct iphdr: members, offsets and bitfields as bpftool reads them', (t) => {
    const blob = vmlinux(t);
    const tool = blob && bpftool(t);
    if (!blob || !tool) return;
    const btf = parseBtf(blob);
    const dump = rawBlocks(runBpftool(tool, ['btf', 'dump', 'file', VMLINUX, 'format', 'raw']));
    for (const name of ['task_struct', 'iphdr']) {
      const block = dump.find((b) => new RegExp(`^\\[\\d+\\] STRUCT '${name}' `).test(b));
      assert.ok(block, `bpftool shows struct ${name}`);
      const [head, ...lines] = block.split('\n') as [string, ...string[]];
      const h = /^\[(\d+)\] STRUCT '\w+' size=(\d+) vlen=(\d+)$/.exec(head);
      assert.ok(h);
      const id = btf.get(`struct ${name}`);
      assert.equal(id, Number(h[1]));
      assert.equal(btf.sizeOf(id), Number(h[2]));
      const s = btf.type(id) as BtfComposite;
      const expected = lines.map((l) => {
        const m = /^\t'(.*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?$/.exec(l);
        assert.ok(m, l);
        return { name: m[1] === '(anon)' ? '' : m[1], type: Number(m[2]), bitOffset: Number(m[3]), bitSize: Number(m[4] ?? 0) };
      });
      assert.deepEqual(s.members, expected);
    }
    const ip = btf.type(btf.get('struct iphdr')) as BtfComposite;
    assert.ok(ip.bitfields && ip.members.some((m) => m.bitSize > 0), 'iphdr has kind_flag bitfields');
  });

  test('lookups: kind-qualified names, resolve through typedefs, sizes', (t) => {
    const blob = vmlinux(t);
    if (!blob) return;
    const btf = parseBtf(blob);
    const u32 = btf.get('typedef __u32');
    assert.equal(btf.type(u32).kind, 'typedef');
    assert.equal(btf.type(btf.resolve(u32)).kind, 'int');
    assert.equal(btf.sizeOf(u32), 4);
    assert.equal(btf.find('struct no_such_type_anywhere'), undefined);
    assert.throws(() => btf.get('struct no_such_type_anywhere'), BtfError);
    assert.ok(btf.findAll('struct sk_buff').every((id) => btf.type(id).kind === 'struct'));
    const e64 = btf.types.findIndex((x) => x.kind === 'enum64' && x.name !== '');
    assert.ok(e64 > 0);
    assert.ok(btf.findAll(`enum ${btf.type(e64).name}`).includes(e64), 'enum names find 64-bit enums');
  });
});

describe('parseBtf on built blobs', () => {
  test('every kind survives encode -> parse unchanged', () => {
    const b = everyKind();
    const btf = b.btf();
    const again = parseBtf(b.build());
    assert.deepEqual(again.types, btf.types);
    assert.deepEqual(encodeBtf(again.types.slice(1) as BtfType[]), b.build());
    const kinds = new Set(again.types.map((x) => x.kind));
    assert.equal(kinds.size, 20, 'void and all 19 kinds');
  });

  test('malformed blobs are BtfErrors that say what is wrong', () => {
    const good = everyKind().build();
    const bad = (mutate: (b: Buffer) => Buffer, msg: RegExp): void => {
      assert.throws(() => parseBtf(mutate(Buffer.from(good))), (e: unknown) => e instanceof BtfError && msg.test(e.message));
    };
    const typeLen = good.readUInt32LE(12);
    bad((b) => b.subarray(0, 10), /shorter than its 24-byte header/);
    bad((b) => (b.writeUInt16LE(0x1234, 0), b), /bad BTF magic/);
    bad((b) => (b.writeUInt8(2, 2), b), /version 2/);
    bad((b) => b.subarray(0, b.length - 5), /runs past/);
    bad((b) => (b.writeUInt32LE(typeLen - 4, 12), b), /truncated|runs past|overlap|not a multiple|past the end/);
    bad((b) => (b.writeUInt32LE(0xffffff, 24), b), /name offset \d+ is past/);
    bad((b) => (b.writeUInt8(0x41, b.length - 1), b), /does not end with a NUL/);
    bad((b) => (b.writeUInt32LE(0x7f << 24, 28), b), /unused bits|unknown kind/);
    // The first type is an int; make it a struct claiming 65535 members in a few bytes.
    bad((b) => (b.writeUInt32LE((4 << 24) | 0xffff, 28), b), /65535 entries runs past the end/);
    bad((b) => (b.writeUInt32LE(0xfffffff0, 12), b), /runs past/);
  });

  test('dangling references, cycles and self-containing structs are refused', () => {
    const cases: Array<[BtfType[], RegExp]> = [
      [[{ kind: 'typedef', name: 'a', type: 2 }, { kind: 'typedef', name: 'b', type: 1 }], /contains itself/],
      [[{ kind: 'const', name: '', type: 1 }], /contains itself/],
      [[{ kind: 'ptr', name: '', type: 9 }], /past the last type/],
      [[{ kind: 'int', name: 'u', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 },
        { kind: 'struct', name: 's', size: 8, bitfields: false, members: [{ name: 'self', type: 2, bitOffset: 0, bitSize: 0 }] }], /contains itself/],
      [[{ kind: 'int', name: 'u', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 },
        { kind: 'array', name: '', type: 2, indexType: 1, nelems: 2 }], /contains itself/],
      [[{ kind: 'int', name: 'u', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 },
        { kind: 'struct', name: 's', size: 2, bitfields: false, members: [{ name: 'x', type: 1, bitOffset: 0, bitSize: 0 }] }], /past the 2 bytes/],
      [[{ kind: 'int', name: 'u', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 },
        { kind: 'array', name: '', type: 1, indexType: 1, nelems: 0x7fffffff }], /larger than 4 GiB/],
      [[{ kind: 'fwd', name: 'f', union: false },
        { kind: 'struct', name: 's', size: 8, bitfields: false, members: [{ name: 'x', type: 1, bitOffset: 0, bitSize: 0 }] }], /has no size/],
      [[{ kind: 'int', name: 'u', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 40 }], /int of 40 bits at bit 0 does not fit its 4 bytes/],
    ];
    for (const [types, msg] of cases)
      assert.throws(() => parseBtf(encodeBtf(types)), (e: unknown) => e instanceof BtfError && msg.test(e.message), msg.source);
  });
});
