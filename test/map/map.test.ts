import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap, MapClosedError } from '../../src/map/map.js';
import { CodecError } from '../../src/codec/codec.js';
import * as c from '../../src/codec/int.js';
import { u8, u16, u32 as u32Codec } from '../../src/codec/int.js';
import { struct } from '../../src/codec/struct.js';
import { linuxAvailable, testKernels, u32, u64 } from '../helpers/kernel.js';

const err = (code: string) => (e: unknown) => e instanceof BpfError && e.code === code;

describe('hash map elements (real kernel)', () => {
  test('set, get, has, delete, getAndDelete, nextKey', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8, name: 'elem_hash' });
    assert.equal(m.get(u32(1)), undefined);
    assert.equal(m.has(u32(1)), false);
    m.set(u32(1), u64(10));
    m.set(u32(2), u64(20));
    assert.deepEqual(m.get(u32(1)), u64(10));
    assert.equal(m.has(u32(2)), true);
    const keys = new Set<number>();
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) keys.add((k as Buffer).readUInt32LE(0));
    assert.deepEqual([...keys].sort(), [1, 2]);
    assert.deepEqual(m.getAndDelete(u32(2)), u64(20));
    assert.equal(m.getAndDelete(u32(2)), undefined);
    assert.equal(m.delete(u32(1)), true);
    assert.equal(m.delete(u32(1)), false);
    assert.equal(m.nextKey(), undefined);
  });

  test('update flags: noexist on an existing key is EEXIST, exist on a missing key is ENOENT', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    m.set(u32(1), u64(1), { flags: 'noexist' });
    assert.throws(() => m.set(u32(1), u64(2), { flags: 'noexist' }), err('EEXIST'));
    assert.throws(() => m.set(u32(9), u64(2), { flags: 'exist' }), err('ENOENT'));
    m.set(u32(1), u64(3), { flags: 'exist' });
    assert.deepEqual(m.get(u32(1)), u64(3));
    assert.throws(() => m.set(u32(1), u64(3), { flags: 'sometimes' as 'any' }), TypeError);
  });

  test('a full hash map answers E2BIG, with the map named in the error', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2, name: 'full_map' });
    m.set(u32(1), u32(1));
    m.set(u32(2), u32(2));
    assert.throws(() => m.set(u32(3), u32(3)), (e: unknown) => {
      assert.ok(e instanceof BpfError);
      assert.equal(e.code, 'E2BIG');
      assert.equal(e.map?.name, 'full_map');
      assert.match(e.message, /full/);
      return true;
    });
    m.set(u32(2), u32(5)); // replacing still works when full
  });

  test('wrong key and value sizes are TypeErrors before any syscall', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    assert.throws(() => m.get(Buffer.alloc(3)), { name: 'TypeError', message: /expected 4 bytes, got 3/ });
    assert.throws(() => m.set(u32(1), Buffer.alloc(9)), { name: 'TypeError', message: /expected 8 bytes, got 9/ });
    assert.throws(() => m.set('k' as unknown as Buffer, u64(1)), TypeError);
    assert.throws(() => m.delete(Buffer.alloc(5)), TypeError);
    assert.equal(m.nextKey(), undefined, 'nothing was written by the refused calls');
  });

  test('a closed map refuses every call; close is idempotent; using disposes', (t) => {
    if (!linuxAvailable(t)) return;
    const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    m.close();
    m.close();
    assert.equal(m.closed, true);
    assert.throws(() => m.get(u32(1)), MapClosedError);
    assert.throws(() => m.set(u32(1), u32(1)), MapClosedError);
    assert.throws(() => m.info(), MapClosedError);
    let outer: BpfMap | undefined;
    {
      using inner = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
      outer = inner;
      assert.equal(inner.closed, false);
    }
    assert.equal(outer.closed, true);
  });

  test('codecs of the wrong size are refused at open time', (t) => {
    if (!linuxAvailable(t)) return;
    const codec = { size: 2, name: 'u16', encode() {}, decode: () => 0 };
    assert.throws(() => BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, key: codec }), /key codec u16 is 2 bytes, but the map's keys are 4/);
  });
});

describe('array maps (real kernel)', () => {
  test('zero-initialised, index range, no delete', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 3 });
    assert.deepEqual(m.get(u32(2)), u32(0));
    m.set(u32(2), u32(7));
    assert.deepEqual(m.get(u32(2)), u32(7));
    assert.equal(m.get(u32(3)), undefined);
    assert.throws(() => m.set(u32(3), u32(1)), err('E2BIG'));
    assert.throws(() => m.set(u32(0), u32(1), { flags: 'noexist' }), err('EEXIST'));
    assert.throws(() => m.delete(u32(0)), err('EINVAL'));
    assert.deepEqual(m.nextKey(u32(1)), u32(2));
    assert.equal(m.nextKey(u32(2)), undefined);
  });
});

describe('per-CPU maps (real kernel)', () => {
  test('a 12-byte value is one 12-byte buffer per possible CPU, padding never shown', (t) => {
    if (!linuxAvailable(t)) return;
    for (const type of ['percpu_hash', 'percpu_array', 'lru_percpu_hash'] as const) {
      using m = BpfMap.create({ type, keySize: 4, valueSize: 12, maxEntries: 4 });
      assert.equal(m.valueBytes, 16 * m.cpus);
      const values = Array.from({ length: m.cpus }, (_, i) => Buffer.alloc(12, i + 1));
      m.set(u32(1), values);
      const got = m.get(u32(1)) as Buffer[];
      assert.equal(got.length, m.cpus);
      got.forEach((b, i) => assert.deepEqual(b, Buffer.alloc(12, i + 1), `${type} cpu ${i}`));
      assert.throws(() => m.set(u32(1), values.slice(1)), /one per possible CPU/);
      assert.throws(() => m.set(u32(1), Buffer.alloc(12)), /one per possible CPU/);
      assert.throws(() => m.set(u32(1), [Buffer.alloc(11), ...values.slice(1)]), /expected 12 bytes/);
    }
  });
});

describe('LRU hash (real kernel)', () => {
  test('filled past max_entries it evicts and never holds more', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 256 });
    for (let i = 0; i < 2000; i++) m.set(u32(i), u32(i));
    let n = 0;
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) n++;
    assert.ok(n > 0 && n <= 256, `${n} entries`);
    assert.deepEqual(m.get(u32(1999)), u32(1999), 'the most recent insert survives');
  });
});

describe('LPM trie (real kernel)', () => {
  test('longest-prefix match', (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 16, flags: ['no_prealloc'] });
    const key = (len: number, ip: string) => Buffer.concat([u32(len), Buffer.from(ip.split('.').map(Number))]);
    m.set(key(8, '10.0.0.0'), u32(8));
    m.set(key(16, '10.1.0.0'), u32(16));
    assert.deepEqual(m.get(key(32, '10.1.2.3')), u32(16));
    assert.deepEqual(m.get(key(32, '10.2.2.3')), u32(8));
    assert.equal(m.get(key(32, '11.0.0.1')), undefined);
    assert.equal(m.delete(key(16, '10.1.0.0')), true);
    assert.deepEqual(m.get(key(32, '10.1.2.3')), u32(8));
  });
});

describe('queue and stack (real kernel)', () => {
  test('push, pop, peek, full, overwrite', (t) => {
    if (!linuxAvailable(t)) return;
    using q = BpfMap.create({ type: 'queue', keySize: 0, valueSize: 4, maxEntries: 2 });
    using s = BpfMap.create({ type: 'stack', keySize: 0, valueSize: 4, maxEntries: 2 });
    for (const m of [q, s]) {
      assert.equal(m.pop(), undefined);
      m.push(u32(1));
      m.push(u32(2));
      assert.throws(() => m.push(u32(3)), err('E2BIG'));
    }
    assert.deepEqual(q.peek(), u32(1));
    assert.deepEqual(s.peek(), u32(2));
    q.push(u32(3), { overwrite: true });
    assert.deepEqual(q.pop(), u32(2));
    assert.deepEqual(q.pop(), u32(3));
    assert.deepEqual(s.pop(), u32(2));
    assert.deepEqual(s.pop(), u32(1));
    assert.equal(s.peek(), undefined);
    using h = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 });
    assert.throws(() => h.push(u32(1)), /queue and stack/);
  });
});

describe('map-in-map (real kernel)', () => {
  test('values are written as inner map fds and read back as inner map ids', (t) => {
    if (!linuxAvailable(t)) return;
    using tmpl = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    using a = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    using hom = BpfMap.create({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: tmpl });
    using aom = BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: tmpl });
    hom.set(u32(1), u32(a.fd));
    aom.set(u32(0), u32(a.fd));
    assert.equal((hom.get(u32(1)) as Buffer).readUInt32LE(0), a.id);
    assert.equal((aom.get(u32(0)) as Buffer).readUInt32LE(0), a.id);
    assert.equal(aom.get(u32(1)), undefined, 'empty slot');
    using wrongShape = BpfMap.create({ type: 'hash', keySize: 8, valueSize: 8, maxEntries: 4 });
    assert.throws(() => hom.set(u32(2), u32(wrongShape.fd)), err('EINVAL'));
  });
});

for (const K of testKernels()) {
  describe(`typed map-in-map on ${K.name}`, () => {
    test('set takes a BpfMap, getMap opens the inner map by id, innerMaps iterates them typed', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const shape = { kernel, type: 'hash', key: c.u32, value: c.u64, maxEntries: 4, btf: true } as const;
      using tmpl = BpfMap.create(shape);
      using a = BpfMap.create(shape);
      using b = BpfMap.create(shape);
      a.set(1, 10n);
      b.set(2, 20n);
      for (const type of ['array_of_maps', 'hash_of_maps'] as const) {
        using outer = BpfMap.create({ kernel, type, key: c.u32, valueSize: 4, maxEntries: 4, innerMap: tmpl });
        outer.set(0, a);
        outer.set(3, b);
        assert.equal(outer.innerMapId(0), a.id);
        assert.equal(outer.getMap(1), undefined, 'an empty slot');
        {
          // Typed by the codecs given, or by the inner map's own BTF.
          using got = outer.getMap(3, { key: c.u32, value: c.u64 });
          assert.equal(got?.id, b.id);
          assert.equal(got?.get(2), 20n);
          got?.set(5, 50n);
          assert.equal(b.get(5), 50n, 'the same map');
          using byBtf = outer.getMap(0);
          assert.deepEqual(byBtf && [...byBtf.entries()], [[1, 10n]]);
        }
        const seen = [...outer.innerMaps({ key: c.u32, value: c.u64 })].map(([k, m]) => {
          const r = [k, m.id, [...m.keys()].sort()] as const;
          m.close();
          return r;
        });
        assert.deepEqual(seen.sort(), [[0, a.id, [1]], [3, b.id, [2, 5]]]);
        using wrongShape = BpfMap.create({ kernel, type: 'hash', keySize: 8, valueSize: 8, maxEntries: 4 });
        assert.throws(() => outer.set(2, wrongShape), err('EINVAL'));
        b.delete(5);
      }
      assert.throws(() => a.set(1, b as never), /only array_of_maps and hash_of_maps hold maps; this map is hash/);
      assert.throws(() => a.getMap(1), /getMap: only array_of_maps/);
    });
  });
}

describe('read-only, write-only, frozen (real kernel)', () => {
  test('the kernel refuses what the flags forbid, with a hint', (t) => {
    if (!linuxAvailable(t)) return;
    using ro = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, flags: ['rdonly'] });
    assert.throws(() => ro.set(u32(1), u32(1)), (e: unknown) => e instanceof BpfError && e.code === 'EPERM' && /read-only/.test(e.message));
    assert.equal(ro.get(u32(1)), undefined);
    using wo = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, flags: ['wronly'] });
    wo.set(u32(1), u32(1));
    assert.throws(() => wo.get(u32(1)), (e: unknown) => e instanceof BpfError && e.code === 'EPERM' && /write-only/.test(e.message));
    using fz = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 });
    fz.set(u32(0), u32(9));
    fz.freeze();
    assert.throws(() => fz.set(u32(0), u32(1)), err('EPERM'));
    assert.deepEqual(fz.get(u32(0)), u32(9));
  });
});

for (const k of testKernels()) {
  test(`codec errors say key or value, the field path and the map, on the ${k.name} kernel`, (t) => {
    if (!k.available(t)) return;
    const kernel = k.kernel();
    using raw = BpfMap.create({ kernel, type: 'hash', keySize: 16, valueSize: 4, maxEntries: 4, name: 'raw16' });
    const label = `map id ${raw.id} "raw16"`;
    assert.throws(() => raw.set(Buffer.alloc(4), Buffer.alloc(4)), {
      name: 'TypeError',
      code: 'ERR_BPFMAP_CODEC',
      message: `key of ${label}: expected 16 bytes, got 4`,
    });
    assert.throws(() => raw.get(Buffer.alloc(4)), { message: `key of ${label}: expected 16 bytes, got 4` });
    assert.throws(() => raw.set(Buffer.alloc(16), Buffer.alloc(8)), { message: `value of ${label}: expected 4 bytes, got 8` });
    assert.throws(
      () =>
        raw.updateBatch([
          [Buffer.alloc(16), Buffer.alloc(4)],
          [Buffer.alloc(16, 1), Buffer.alloc(3)],
        ]),
      {
        message: `value of ${label} (entry 1): expected 4 bytes, got 3`,
      },
    );
    assert.throws(() => raw.deleteBatch([Buffer.alloc(2)]), { message: `key of ${label} (entry 0): expected 16 bytes, got 2` });

    // Through the map's BTF: an unknown field of the key is the key's (it was labelled "value:").
    const flow = struct({ saddr: u32Codec, sport: u16, proto: u8 }, { name: 'flow' });
    using typed = BpfMap.create({ kernel, type: 'hash', key: flow, value: u32Codec, maxEntries: 4, btf: true, name: 'typed' });
    using opened = BpfMap.fromId(typed.id, { kernel });
    const at = `map id ${typed.id} "typed"`;
    assert.throws(() => opened.set({ saddr: 1, sport: 2, proto: 3, bogus: 4 }, 1), {
      code: 'ERR_BPFMAP_CODEC',
      message: `key of ${at}: struct flow has no field "bogus" (fields: saddr, sport, proto)`,
    });
    assert.throws(() => opened.set({ saddr: 1, sport: 70000, proto: 3 }, 1), {
      message: /^key\.sport of map id \d+ "typed": expected an integer in 0\.\.65535/,
    });
    assert.throws(() => opened.set({ saddr: 1, sport: 2, proto: 3 }, 'x'), {
      message: /^value of map id \d+ "typed": expected an integer/,
    });
    const e = (() => {
      try {
        opened.set({ saddr: 1, sport: 2, proto: 3, bogus: 4 }, 1);
      } catch (err) {
        return err as CodecError;
      }
      return undefined;
    })();
    assert.equal(e?.side, 'key');
    assert.equal(e?.map, `id ${typed.id} "typed"`);
  });
}
