import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import { BpfError } from '../../src/kernel/error.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import { testKernels } from '../helpers/kernel.js';

/** `volatile __u64 hits; __u32 last_len; struct cfg { __u32 limit; char tag[6]; } cfg;` as clang describes them. */
function sections(): { b: BtfBuilder; bss: number; rodata: number } {
  const b = new BtfBuilder();
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const cfg = b.struct('cfg', [
    { name: 'limit', type: u32 },
    { name: 'tag', type: b.array(b.int('char', 1, { char: true }), 6) },
  ]);
  const bss = b.datasec('.bss', [
    { name: 'hits', type: b.qualifier('volatile', u64) },
    { name: 'last_len', type: u32 },
  ]);
  const rodata = b.datasec('.rodata', [{ name: 'cfg', type: b.qualifier('const', b.qualifier('volatile', cfg)) }]);
  return { b, bss, rodata };
}

function globalMap(kernel: Kernel, type: number, b: BtfBuilder, name: string): BpfMap<BtfValue, BtfValue> {
  return BpfMap.create({
    kernel,
    type: 'array',
    maxEntries: 1,
    name,
    flags: ['mmapable'],
    btf: { value: { btf: b.btf(), type } },
  }) as BpfMap<BtfValue, BtfValue>;
}

for (const K of testKernels()) {
  describe(`global data (DATASEC values) on ${K.name}`, () => {
    test('get, entries and set speak the variables by name', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const { b, bss } = sections();
      using m = globalMap(kernel, bss, b, 'g.bss');
      assert.equal(m.valueSize, 12, 'the section ends with its last variable');
      assert.deepEqual(m.get(0), { hits: 0n, last_len: 0 });
      m.set(0, { hits: 41n, last_len: 9 });
      using again = BpfMap.fromId(m.id, { kernel });
      assert.deepEqual(again.get(0), { hits: 41n, last_len: 9 });
      assert.deepEqual([...again.entries()], [[0, { hits: 41n, last_len: 9 }]]);
    });

    test('globals(): each variable read and written on its own; a frozen .rodata only reads', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const { b, bss, rodata } = sections();
      using m = globalMap(kernel, bss, b, 'g.bss');
      const g = m.globals<{ hits: bigint; last_len: number }>();
      assert.deepEqual({ ...g }, { hits: 0n, last_len: 0 });
      g.hits = 7n;
      g.last_len = 3;
      g.hits = 8n;
      assert.deepEqual(m.get(0), { hits: 8n, last_len: 3 }, 'one variable written leaves the others');
      m.set(0, { hits: 100n, last_len: 4 });
      assert.equal(g.hits, 100n, 'a write by anyone else is seen');
      assert.throws(() => ((g as unknown as { nope: number }).nope = 1), TypeError);
      assert.throws(() => (g.last_len = -1), { name: 'TypeError', message: /0\.\.4294967295/ });

      using ro = globalMap(kernel, rodata, b, 'g.rodata');
      ro.set(0, { cfg: { limit: 1000, tag: 'dflt' } });
      ro.freeze();
      const c = ro.globals<{ cfg: { limit: number; tag: string } }>();
      assert.deepEqual(c.cfg, { limit: 1000, tag: 'dflt' });
      assert.equal(ro.info().frozen, true);
      assert.throws(() => (c.cfg = { limit: 1, tag: '' }), /read-only to userspace \(frozen\)/);
      assert.throws(
        () => ro.set(0, { cfg: { limit: 1, tag: '' } }),
        (e: unknown) => e instanceof BpfError && e.code === 'EPERM' && /frozen/.test(e.message),
      );
    });

    test('globals() of a map that is not global data is refused', (t) => {
      if (!K.available(t)) return;
      using m = BpfMap.create({ kernel: K.kernel(), type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
      assert.throws(() => m.globals(), /is not global data/);
    });
  });
}
