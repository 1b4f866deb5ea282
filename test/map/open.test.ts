import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { Assembler } from '../../src/prog/asm.js';
import { BpfProgram } from '../../src/prog/program.js';
import { sysObjPin } from '../../src/sys/obj.js';
import { BpfMap, listMaps } from '../../src/map/map.js';
import { linuxAvailable, pinPath, testKernels, u32 } from '../helpers/kernel.js';
import * as c from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';

describe('opening maps (real kernel)', () => {
  test('pin, openPinned (read-only too), info', (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('pin');
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8, name: 'pinned_one', flags: ['zero_seed'] });
    m.pin(path);
    try {
      m.set(u32(1), u32(42));
      using o = BpfMap.openPinned(path);
      assert.equal(o.id, m.id);
      assert.deepEqual(o.get(u32(1)), u32(42));
      const info = o.info();
      assert.equal(info.typeName, 'hash');
      assert.equal(info.name, 'pinned_one');
      assert.equal(info.keySize, 4);
      assert.equal(info.valueSize, 4);
      assert.equal(info.maxEntries, 8);
      assert.deepEqual(info.flagNames, ['zero_seed']);
      using ro = BpfMap.openPinned(path, { readOnly: true });
      assert.deepEqual(ro.get(u32(1)), u32(42));
      assert.throws(() => ro.set(u32(1), u32(1)), (e: unknown) => e instanceof BpfError && e.code === 'EPERM');
      assert.throws(() => m.pin(path), (e: unknown) => e instanceof BpfError && e.code === 'EEXIST');
    } finally {
      unlinkSync(path);
    }
  });

  test('openPinned of a missing path, a non-bpf path, a bpffs directory', (t) => {
    if (!linuxAvailable(t)) return;
    assert.throws(() => BpfMap.openPinned(pinPath('missing')), (e: unknown) =>
      e instanceof BpfError && e.code === 'ENOENT' && /nothing is pinned/.test(e.message));
    assert.throws(() => BpfMap.openPinned('/proc/self/status'), (e: unknown) =>
      e instanceof BpfError && e.code === 'EACCES' && /\(\/proc\/self is not on a bpf filesystem: pins live on one/.test(e.message));
    const dir = pinPath('dir');
    mkdirSync(dir);
    try {
      assert.throws(() => BpfMap.openPinned(dir), BpfError);
    } finally {
      rmdirSync(dir);
    }
    assert.throws(() => BpfMap.openPinned(''), TypeError);
  });

  test('openPinned of a pinned program: not a map, said so', (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('prog');
    using p = BpfProgram.load({ insns: new Assembler().mov(0, 0).exit().build(), name: 'not_a_map' });
    assert.equal(sysObjPin(p.fd, path), 0);
    try {
      const before = readdirSync('/proc/self/fd').length;
      assert.throws(() => BpfMap.openPinned(path), (e: unknown) =>
        e instanceof BpfError && e.code === 'EINVAL' && /the object pinned there is not a map \(bpf-prog\)/.test(e.message));
      assert.equal(readdirSync('/proc/self/fd').length, before, 'the program fd was closed again');
    } finally {
      unlinkSync(path);
    }
  });

  test('fromId, fromName, listMaps', (t) => {
    if (!linuxAvailable(t)) return;
    const name = `n${process.pid % 100000}_${Math.floor(Math.random() * 1e6)}`.slice(0, 15);
    using a = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 2, name });
    using byId = BpfMap.fromId(a.id);
    assert.equal(byId.name, name);
    using byName = BpfMap.fromName(name);
    assert.equal(byName.id, a.id);
    const all = listMaps();
    const mine = all.find((m) => m.id === a.id);
    assert.ok(mine, 'listMaps includes the new map');
    assert.equal(mine.typeName, 'array');
    assert.equal(mine.maxEntries, 2);
    using b = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 2, name });
    assert.throws(() => BpfMap.fromName(name), new RegExp(`2 maps are named "${name}" \\(ids ${a.id}, ${b.id}\\)`));
    assert.throws(() => BpfMap.fromName('no_such_map_x'), /no map is named/);
    assert.throws(() => BpfMap.fromId(0x7ffffff0), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT' && /no map has that id/.test(e.message));
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 32])
      assert.throws(() => BpfMap.fromId(bad), TypeError);
  });

  test('a map dropped without close gives its fd back when collected', (t) => {
    if (!linuxAvailable(t)) return;
    const script = `
      import { BpfMap } from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
      import { readdirSync } from 'node:fs';
      const fds = () => readdirSync('/proc/self/fd').length;
      const before = fds();
      (() => { for (let i = 0; i < 50; i++) BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }); })();
      const during = fds();
      for (let i = 0; i < 10 && fds() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ before, during, after: fds() }));
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { before, during, after } = JSON.parse(r.stdout) as { before: number; during: number; after: number };
    assert.ok(during >= before + 50, `fds grew while maps were alive (${before} -> ${during})`);
    assert.ok(after <= before, `fds returned to baseline (${before} -> ${after})`);
  });
});

for (const K of testKernels()) {
  describe(`handles on ${K.name}`, () => {
    test('fromFd adopts a duplicate: both fds close on their own; a non-map fd is refused', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, name: 'adopted' });
      m.set(u32(1), u32(7));
      using a = BpfMap.fromFd(m.fd, { kernel, raw: true });
      assert.notEqual(a.fd, m.fd);
      assert.equal(a.id, m.id);
      m.close();
      assert.deepEqual(a.get(u32(1)), u32(7), 'the duplicate outlives the fd it was made from');
      a.set(u32(2), u32(8));
      using b = a.clone();
      a.close();
      assert.deepEqual([...b.entries()].map(([k, v]) => [k.readUInt32LE(0), (v as Buffer).readUInt32LE(0)]).sort(), [[1, 7], [2, 8]]);
      assert.throws(() => BpfMap.fromFd(-1, { kernel }), TypeError);
      assert.throws(() => BpfMap.fromFd(2, { kernel }), (e: unknown) => e instanceof BpfError && e.code === 'EINVAL');
    });

    test('clone keeps the codecs, per-CPU too', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using m = BpfMap.create({ kernel, type: 'percpu_array', maxEntries: 2, key: c.u32, value: perCpu(c.u64) });
      m.set(1, Array.from({ length: m.cpus }, (_, i) => BigInt(i + 1)));
      using d = m.clone();
      const n = BigInt(m.cpus);
      assert.equal(d.sumCpus(d.get(1) ?? []), (n * (n + 1n)) / 2n);
      assert.equal(d.keyCodec, m.keyCodec);
    });

    test('unpin removes this map\'s pin, false when none, refuses another map\'s', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const path = pinPath('unpin');
      const other = pinPath('unpin-other');
      using m = BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
      using n = BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
      m.pin(path);
      n.pin(other);
      try {
        using o = BpfMap.openPinned(path, { kernel });
        assert.throws(() => o.unpin(other), /pins map id \d+, not this map/);
        assert.equal(o.unpin(), true);
        assert.equal(o.unpin(), false);
        assert.throws(() => BpfMap.openPinned(path, { kernel }), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
        assert.throws(() => m.unpin(), /give the pin path/);
        assert.equal(n.unpin(other), true);
      } finally {
        kernel.unpin(path);
        kernel.unpin(other);
      }
    });

    test('info has the memory the kernel charges and the frozen state', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using m = BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 64, maxEntries: 100 });
      const before = m.info();
      assert.equal(before.frozen, false);
      assert.ok(before.memlock >= 64 * 100, `memlock ${before.memlock}`);
      m.freeze();
      assert.equal(m.info().frozen, true);
      using again = BpfMap.fromId(m.id, { kernel });
      assert.equal(again.info().frozen, true);
    });
  });
}
