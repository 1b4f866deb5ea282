import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCType } from '../../src/btf/c-types.js';
import { codecFromBtf } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import { BtfError } from '../../src/btf/error.js';
import type { BtfComposite } from '../../src/btf/types.js';
import { runC } from '../helpers/cc.js';

/** Declarations as people write them for map keys and values; C's own layout is the reference. */
const DECLS: { c: string; members: string[] }[] = [
  {
    c: 'struct { __be32 saddr; __be32 daddr; __be16 sport; __be16 dport; __u8 proto; }',
    members: ['saddr', 'daddr', 'sport', 'dport', 'proto'],
  },
  { c: 'struct flow_stats { __u64 packets; __u64 bytes; char comm[16]; __u8 flags; }', members: ['packets', 'bytes', 'comm', 'flags'] },
  {
    c: 'struct { __u8 family; union { __be32 v4; __u8 v6[16]; }; __u16 port; long long unsigned int n; }',
    members: ['family', 'v4', 'v6', 'port', 'n'],
  },
  {
    c: 'struct { char tag; struct { __u16 a; __u32 b; } inner; int arr[2][3]; enum { RED, GREEN = 5, BLUE } color; unsigned short s; }',
    members: ['tag', 'inner', 'arr', 'color', 's'],
  },
  { c: 'union { __u64 raw; struct { __u32 lo; __u32 hi; } parts; }', members: ['raw', 'parts'] },
];

/** Bitfields: which bytes each one fills in C, found by setting it to all ones. */
const BITS = 'struct { __u8 ihl:4, version:4; __u8 tos; __u16 frag:13; __u32 a:20; __u32 b:20; __u64 c:3; __u8 d; }';
const BIT_MEMBERS = ['ihl', 'version', 'tos', 'frag', 'a', 'b', 'c', 'd'];

test('C declarations lay out as the C compiler lays them out: sizes, offsets, bitfields', (t) => {
  const b = new BtfBuilder();
  const ids = DECLS.map((d) => parseCType(d.c, b));
  const bitsId = parseCType(BITS, b);
  const btf = b.btf();
  let ref: string;
  try {
    ref = runC(`#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>
${DECLS.map((d, i) => `typedef ${d.c} t${i};`).join('\n')}
typedef ${BITS} tb;
int main(void) {
${DECLS.map((d, i) => `  printf("t${i} %zu${d.members.map(() => ' %zu').join('')}\\n", sizeof(t${i})${d.members.map((m) => `, offsetof(t${i}, ${m})`).join('')});`).join('\n')}
  tb x;
${BIT_MEMBERS.map((m) => `  memset(&x, 0, sizeof x); x.${m} = -1; printf("${m}"); for (size_t i = 0; i < sizeof x; i++) printf(" %02x", ((unsigned char *)&x)[i]); printf("\\n");`).join('\n')}
  return 0;
}
`);
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    t.skip(`no C compiler: ${(e as Error).message}`);
    return;
  }
  const lines = ref.trim().split('\n');
  DECLS.forEach((d, i) => {
    const id = ids[i] as number;
    const c = btf.type(id) as BtfComposite;
    const offsets = d.members.map((m) => {
      const direct = c.members.find((x) => x.name === m);
      if (direct) return direct.bitOffset / 8;
      // Inside an anonymous member.
      const anon = c.members.find(
        (x) => x.name === '' && (btf.type(btf.resolve(x.type)) as BtfComposite).members.some((y) => y.name === m),
      ) as BtfComposite['members'][number];
      return (
        anon.bitOffset / 8 + ((btf.type(btf.resolve(anon.type)) as BtfComposite).members.find((y) => y.name === m)?.bitOffset ?? 0) / 8
      );
    });
    assert.equal(`t${i} ${btf.sizeOf(id)} ${offsets.join(' ')}`, lines[i], d.c);
  });
  const codec = codecFromBtf(btf, bitsId, { byteOrder: 'host' });
  const bitLines = lines.slice(DECLS.length);
  BIT_MEMBERS.forEach((m, i) => {
    const buf = Buffer.alloc(codec.size);
    const width = (btf.type(bitsId) as BtfComposite).members.find((x) => x.name === m)?.bitSize || 8;
    codec.encode({ [m]: 2 ** width - 1 }, buf, 0);
    assert.equal(`${m} ${[...buf].map((x) => x.toString(16).padStart(2, '0')).join(' ')}`, bitLines[i], `bitfield ${m}`);
  });
});

test('names: kernel typedefs keep their names (so __be32 decodes in network order); unknown names come from the lookup', () => {
  const b = new BtfBuilder();
  const id = parseCType('struct { __be32 saddr; __be16 sport; u64 n; uint8_t x; bool ok; }', b);
  const btf = b.btf();
  const s = btf.type(id) as BtfComposite;
  assert.deepEqual(
    s.members.map((m) => btf.describe(m.type)),
    ['__be32', '__be16', 'u64', 'uint8_t', 'bool'],
  );
  const bytes = Buffer.alloc(btf.sizeOf(id));
  codecFromBtf(btf, id).encode({ saddr: 0x0a000001, sport: 53 }, bytes, 0);
  assert.equal(bytes.toString('hex', 0, 6), '0a0000010035');

  const other = new BtfBuilder();
  other.struct('point', [
    { name: 'x', type: other.int('int', 4, { signed: true }) },
    { name: 'y', type: other.int('int', 4, { signed: true }) },
  ]);
  const lib = other.btf();
  const lookup = (name: string) => {
    const found = lib.find(name);
    return found === undefined ? undefined : { btf: lib, id: found };
  };
  const c = new BtfBuilder();
  const p = parseCType('struct { struct point at; struct point path[4]; }', c, lookup);
  assert.equal(c.btf().sizeOf(p), 40);
  const local = parseCType('struct pair { __u32 a; __u32 b; }', c);
  assert.equal(c.btf().describe(local), 'struct pair');
  const arr = parseCType('__u64[4]', c);
  assert.equal(c.btf().sizeOf(arr), 32);
  for (const [text, msg] of [
    ['struct { __u32 a }', /expected ";" at "}" \(column 18\)/],
    ['struct { __u33 a; }', /unknown type "__u33"/],
    ['struct { struct nowhere x; }', /unknown struct nowhere/],
    ['struct { __u8 a:9; }', /bitfield "a" is 9 bits, wider than its 1-byte type/],
    ['unsigned float', /unknown type|no C integer type|expected the end/],
    ['struct { int a; } extra', /expected the end of the type at "extra"/],
  ] as const) {
    assert.throws(
      () => parseCType(text, new BtfBuilder()),
      (e: Error) => e instanceof BtfError && msg.test(e.message),
      text,
    );
  }
});
