import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { loadCounter } from '../../src/prog/counter.js';
import { linuxAvailable, u32 } from '../helpers/kernel.js';

function total(m: BpfMap): bigint {
  let sum = 0n;
  for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) {
    const v = m.get(k);
    if (v === undefined) continue;
    for (const b of Array.isArray(v) ? v : [v]) sum += b.readBigUInt64LE();
  }
  return sum;
}

function dropMap(): BpfMap {
  return BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
}

for (const type of ['hash', 'percpu_hash'] as const) {
  test(`counter on a ${type}: every run adds exactly 1, keys stay in the key space`, (t) => {
    if (!linuxAvailable(t)) return;
    using m = BpfMap.create({ type, keySize: 4, valueSize: 8, maxEntries: 64 });
    using dropped = dropMap();
    using p = loadCounter({ target: { map: m }, keys: 16, dropped });
    const runs = 50_000 + Math.floor(Math.random() * 1000);
    assert.equal(p.testRun({ repeat: runs }).retval, 0);
    assert.equal(total(m), BigInt(runs));
    assert.equal(total(dropped), 0n);
    for (let k = m.nextKey(); k !== undefined; k = m.nextKey(k)) assert.ok(k.readUInt32LE() < 16);
  });
}

test('counter through array_of_maps slot 0 writes the inner map in the slot', (t) => {
  if (!linuxAvailable(t)) return;
  using a = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 8 });
  using b = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 8 });
  using outer = BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1, innerMap: a });
  using dropped = dropMap();
  using p = loadCounter({ target: { outer }, keys: 4, keyFrom: 'cpu', dropped });
  // An empty slot: every run is dropped, nothing counted.
  assert.equal(p.testRun({ repeat: 100 }).retval, 1);
  assert.equal(total(dropped), 100n);
  outer.set(u32(0), u32(a.fd));
  p.testRun({ repeat: 3000 });
  outer.set(u32(0), u32(b.fd));
  p.testRun({ repeat: 2000 });
  assert.equal(total(a), 3000n);
  assert.equal(total(b), 2000n);
  assert.equal(total(dropped), 100n);
});

test('counter through a hash_of_maps slot', (t) => {
  if (!linuxAvailable(t)) return;
  using inner = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
  using outer = BpfMap.create({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: inner });
  using dropped = dropMap();
  const slot = 0x80000000 + Math.floor(Math.random() * 1000);
  outer.set(u32(slot), u32(inner.fd));
  using p = loadCounter({ target: { outer, slot }, keys: 3, dropped });
  p.testRun({ repeat: 777 });
  assert.equal(total(inner), 777n);
  assert.equal(total(dropped), 0n);
  assert.throws(() => loadCounter({ target: { outer, slot: -1 }, keys: 1 }), /slot must be a u32/);
});

test('a full map makes runs drop (counted in the drop map), never miscount', (t) => {
  if (!linuxAvailable(t)) return;
  using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2 });
  using dropped = dropMap();
  using p = loadCounter({ target: { map: m }, keys: 64, dropped, retries: 1 });
  p.testRun({ repeat: 10_000 });
  const counted = total(m);
  const lost = total(dropped);
  assert.ok(lost > 0n);
  assert.equal(counted + lost, 10_000n);
});

test('counter options are checked', () => {
  const map = { fd: 0 };
  assert.throws(() => loadCounter({ target: { map }, keys: 0 }), /keys must be/);
  assert.throws(() => loadCounter({ target: { map }, keys: 4, retries: -1 }), /retries/);
  assert.throws(() => loadCounter({ target: { map }, keys: 4, keyFrom: 'pid' as 'cpu' }), /keyFrom/);
});
