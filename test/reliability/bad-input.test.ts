// Every public call with each class of bad input: a typed error with a clear message, never a crash,
// and nothing written to the map.
import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cstring } from '../../src/codec/cstring.js';
import { u16, u32 as u32c, u64 as u64c } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { BpfError } from '../../src/kernel/error.js';
import { BatchCursor } from '../../src/map/cursor.js';
import { BpfMap, MapClosedError } from '../../src/map/map.js';
import { pinPath, testKernels, u32, u64 } from '../helpers/kernel.js';

type Expect = RegExp | (new (...a: never[]) => Error);
interface Case {
  what: string;
  call: () => unknown;
  error: Expect;
  message?: RegExp;
}

function check(c: Case): void {
  let thrown: unknown;
  try {
    const r = c.call();
    if (r && typeof (r as Iterator<unknown>).next === 'function') [...(r as Iterable<unknown>)];
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof Error, `${c.what}: expected an error, got ${String(thrown)}`);
  if (c.error instanceof RegExp) assert.match(thrown.message, c.error, c.what);
  else assert.ok(thrown instanceof c.error, `${c.what}: expected ${c.error.name}, got ${thrown.name}: ${thrown.message}`);
  if (c.message) assert.match(thrown.message, c.message, c.what);
  assert.ok(thrown.message.length > 10, `${c.what}: a message a user can read`);
}

const NOT_BYTES: unknown[] = ['abcd', 42, null, undefined, {}, [1, 2, 3, 4], new Uint16Array(2), Symbol('k')];
// null and undefined mean "the default", like an omitted option.
const BAD_COUNTS: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32, '10', {}];

for (const K of testKernels()) {
  describe(`bad input on ${K.name}`, () => {
    test('map creation and opening', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      const dir = pinPath('dir');
      mkdirSync(dir);
      try {
        using tmpl = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
        const closedInner = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
        closedInner.close();
        const cases: Case[] = [
          { what: 'unknown type name', call: () => BpfMap.create({ kernel, type: 'hashh' as 'hash', keySize: 4, valueSize: 4, maxEntries: 1 }), error: TypeError, message: /unknown map type "hashh"/ },
          { what: 'unknown type number', call: () => BpfMap.create({ kernel, type: 999, keySize: 4, valueSize: 4, maxEntries: 1 }), error: TypeError },
          { what: 'negative key size', call: () => BpfMap.create({ kernel, type: 'hash', keySize: -1, valueSize: 4, maxEntries: 1 }), error: RangeError, message: /keySize/ },
          { what: 'NaN value size', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: Number.NaN, maxEntries: 1 }), error: RangeError },
          { what: 'fractional max entries', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1.5 }), error: RangeError },
          { what: 'zero max entries', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 0 }), error: BpfError, message: /EINVAL/ },
          { what: 'array with an 8-byte key', call: () => BpfMap.create({ kernel, type: 'array', keySize: 8, valueSize: 4, maxEntries: 1 }), error: BpfError, message: /BPF_MAP_CREATE.*EINVAL/ },
          { what: 'unknown flag name', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, flags: ['fast' as 'rdonly'] }), error: TypeError, message: /unknown map flag "fast"/ },
          { what: 'missing sizes', call: () => BpfMap.create({ kernel, type: 'hash', maxEntries: 1 }), error: TypeError, message: /keySize/ },
          { what: 'codec of the wrong size', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, key: u16 }), error: TypeError, message: /2 bytes/ },
          { what: 'plain codec on a per-CPU map', call: () => BpfMap.create({ kernel, type: 'percpu_hash', key: u32c, value: u64c, maxEntries: 1 }), error: TypeError, message: /perCpu\(\)/ },
          { what: 'perCpu codec on a plain map', call: () => BpfMap.create({ kernel, type: 'hash', key: u32c, value: perCpu(u64c), maxEntries: 1 }), error: TypeError, message: /not per-CPU/ },
          { what: 'closed inner map template', call: () => BpfMap.create({ kernel, type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 1, innerMap: closedInner }), error: MapClosedError },
          { what: 'map-in-map without a template', call: () => BpfMap.create({ kernel, type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1 }), error: BpfError },
          { what: 'name with a bad character', call: () => BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, name: 'a b' }), error: TypeError, message: /create: name may hold only/ },
          { what: 'openPinned of an empty path', call: () => BpfMap.openPinned('', { kernel }), error: TypeError },
          { what: 'openPinned of a non-string', call: () => BpfMap.openPinned(7 as unknown as string, { kernel }), error: TypeError },
          { what: 'openPinned of a missing path', call: () => BpfMap.openPinned(pinPath('missing'), { kernel }), error: BpfError, message: /ENOENT/ },
          { what: 'openPinned of a bpffs directory', call: () => BpfMap.openPinned(dir, { kernel }), error: BpfError },
          { what: 'openPinned off bpffs', call: () => BpfMap.openPinned('/proc/self/status', { kernel }), error: BpfError, message: /bpf filesystem/ },
          ...[0, -1, 1.5, Number.NaN, '5', 2 ** 32].map((id) => ({ what: `fromId(${String(id)})`, call: () => BpfMap.fromId(id as number, { kernel }), error: TypeError as Expect })),
          { what: 'fromId of a free id', call: () => BpfMap.fromId(0x7ffffffe, { kernel }), error: BpfError, message: /ENOENT/ },
          { what: 'fromName of an empty name', call: () => BpfMap.fromName('', { kernel }), error: TypeError },
          { what: 'fromName of a non-string', call: () => BpfMap.fromName(null as unknown as string, { kernel }), error: TypeError },
          { what: 'pin to an empty path', call: () => tmpl.pin(''), error: TypeError },
          { what: 'pin off bpffs', call: () => tmpl.pin('/proc/nope'), error: BpfError },
        ];
        for (const c of cases) check(c);
      } finally {
        rmdirSync(dir);
      }
    });

    test('element calls', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using h = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      using pc = BpfMap.create({ kernel, type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      using typed = BpfMap.create({ kernel, type: 'hash', key: u32c, value: cstring(8), maxEntries: 4 });
      const closed = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      closed.close();
      const cases: Case[] = [];
      for (const bad of [...NOT_BYTES, Buffer.alloc(3), Buffer.alloc(5)]) {
        const key = bad as Buffer;
        cases.push(
          { what: `get(${String(bad)})`, call: () => h.get(key), error: TypeError },
          { what: `has(${String(bad)})`, call: () => h.has(key), error: TypeError },
          { what: `delete(${String(bad)})`, call: () => h.delete(key), error: TypeError },
          { what: `getAndDelete(${String(bad)})`, call: () => h.getAndDelete(key), error: TypeError },
          ...(bad === undefined ? [] : [{ what: `nextKey(${String(bad)})`, call: () => h.nextKey(key), error: TypeError as Expect }]),
          { what: `set(key ${String(bad)})`, call: () => h.set(key, u64(1)), error: TypeError },
          { what: `set(value ${String(bad)})`, call: () => h.set(u32(1), key), error: TypeError },
        );
      }
      cases.push(
        { what: 'per-CPU value as one buffer', call: () => pc.set(u32(1), Buffer.alloc(8)), error: TypeError, message: /one per possible CPU/ },
        { what: 'per-CPU value with one CPU missing', call: () => pc.set(u32(1), Array.from({ length: pc.cpus - 1 }, () => Buffer.alloc(8))), error: TypeError },
        { what: 'per-CPU value with a short CPU slot', call: () => pc.set(u32(1), Array.from({ length: pc.cpus }, () => Buffer.alloc(7))), error: TypeError },
        { what: 'typed key out of range', call: () => typed.set(-1, 'x'), error: TypeError, message: /^key of map id \d+: expected an integer 0\.\.4294967295, got -1$/ },
        { what: 'typed key not an integer', call: () => typed.set(1.5, 'x'), error: TypeError },
        { what: 'typed string too long', call: () => typed.set(1, 'way too long'), error: TypeError },
        { what: 'typed string of a number', call: () => typed.set(1, 5 as unknown as string), error: TypeError },
        { what: 'unknown update flag', call: () => h.set(u32(1), u64(1), { flags: 'maybe' as 'any' }), error: TypeError },
        { what: 'lock on a map without a spin lock', call: () => h.set(u32(1), u64(1), { lock: true }), error: BpfError, message: /bpf_spin_lock/ },
        { what: 'push on a hash map', call: () => h.push(u64(1)), error: TypeError, message: /queue and stack/ },
        { what: 'pop on a hash map', call: () => h.pop(), error: TypeError },
        { what: 'get on a closed map', call: () => closed.get(u32(1)), error: MapClosedError },
        { what: 'set on a closed map', call: () => closed.set(u32(1), u64(1)), error: MapClosedError },
        { what: 'freeze on a closed map', call: () => closed.freeze(), error: MapClosedError },
        { what: 'pin of a closed map', call: () => closed.pin(pinPath('closed')), error: MapClosedError },
      );
      for (const c of cases) check(c);
      assert.equal(h.nextKey(), undefined, 'nothing reached the map');
      assert.equal(typed.nextKey(), undefined, 'nothing reached the typed map');
    });

    test('batch calls', (t) => {
      if (!K.available(t)) return;
      const kernel = K.kernel();
      using h = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      using other = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
      using arr = BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 8, maxEntries: 4 });
      other.set(u32(1), u64(1));
      const foreign = other.lookupBatch({ count: 1 }).cursor;
      const cases: Case[] = [
        ...BAD_COUNTS.map((count) => ({ what: `lookupBatch count ${String(count)}`, call: () => h.lookupBatch({ count: count as number }), error: RangeError as Expect })),
        ...BAD_COUNTS.map((n) => ({ what: `entries batchSize ${String(n)}`, call: () => h.entries({ batchSize: n as number, mode: 'batch' }), error: RangeError as Expect })),
        { what: 'entries batchSize 0', call: () => h.entries({ batchSize: 0, mode: 'batch' }), error: RangeError },
        { what: 'unknown walk mode', call: () => h.entries({ mode: 'fast' as 'batch' }), error: TypeError },
        { what: 'cursor of another map', call: () => h.lookupBatch({ cursor: foreign }), error: TypeError, message: /belongs to map id/ },
        { what: 'forged cursor', call: () => h.lookupBatch({ cursor: new BatchCursor(kernel, h.id, Buffer.alloc(2)) }), error: TypeError },
        { what: 'cursor that is not a cursor', call: () => h.lookupBatch({ cursor: Buffer.alloc(4) as unknown as BatchCursor }), error: TypeError },
        { what: 'elem flags besides BPF_F_LOCK', call: () => h.lookupBatch({ elemFlags: 8 }), error: BpfError, message: /EINVAL/ },
        { what: 'negative elem flags', call: () => h.lookupBatch({ elemFlags: -1 }), error: RangeError },
        { what: 'updateBatch of a number', call: () => h.updateBatch(5 as unknown as []), error: TypeError },
        { what: 'updateBatch of null', call: () => h.updateBatch(null as unknown as []), error: TypeError },
        { what: 'updateBatch of a non-pair', call: () => h.updateBatch([u32(1)] as unknown as []), error: TypeError },
        { what: 'updateBatch with a short value', call: () => h.updateBatch([[u32(1), Buffer.alloc(2)]]), error: TypeError },
        { what: 'updateBatch of unequal columns', call: () => h.updateBatch({ keys: [u32(1), u32(2)], values: [u64(1)] }), error: TypeError },
        { what: 'updateBatch of ragged packed bytes', call: () => h.updateBatch({ keys: Buffer.alloc(8), values: Buffer.alloc(9) }), error: TypeError },
        { what: 'updateBatch chunkSize NaN', call: () => h.updateBatch([], { chunkSize: Number.NaN }), error: RangeError },
        { what: 'deleteBatch of a number', call: () => h.deleteBatch(3 as unknown as []), error: TypeError },
        { what: 'deleteBatch of ragged packed keys', call: () => h.deleteBatch({ keys: Buffer.alloc(6) }), error: TypeError },
        { what: 'deleteBatch with a bad key', call: () => h.deleteBatch(['k' as unknown as Buffer]), error: TypeError },
        { what: 'drain of an array', call: () => arr.drain(), error: BpfError, message: /does not fall back/ },
        { what: 'deleteBatch of an array', call: () => arr.deleteBatch([u32(0)]), error: BpfError, message: /ENOTSUPP/ },
        { what: 'sumCpus on a plain map', call: () => h.sumCpus(u64(1)), error: TypeError },
      ];
      for (const c of cases) check(c);
      assert.equal(h.nextKey(), undefined, 'nothing reached the map');
    });
  });
}
