import assert from 'node:assert/strict';
import { test } from 'node:test';
import { u32, u64 } from '../../src/codec/int.js';
import { BpfError } from '../../src/kernel/error.js';
import { internal } from '../../src/map/internal.js';
import { BpfMap, MapClosedError } from '../../src/map/map.js';
import { EMULATED } from '../helpers/kernel.js';

/** Compiles only while none of the helpers is a member users can reach (never called). */
export const helpersAreNotVerbs = (m: BpfMap<number, bigint>): unknown[] => [
  // @ts-expect-error: internal, on m[internal]
  m.annotate,
  // @ts-expect-error: internal, on m[internal]
  m.assertOpen,
  // @ts-expect-error: internal, on m[internal]
  m.label,
  // @ts-expect-error: internal, on m[internal]
  m.ref,
  // @ts-expect-error: internal, on m[internal]
  m.cursorSize,
  // @ts-expect-error: internal, on m[internal]
  m.encodeKey,
  // @ts-expect-error: internal, on m[internal]
  m.encodeValue,
];

test("the map's internal handle: the helpers the files beside BpfMap call", () => {
  const m = BpfMap.create({ kernel: EMULATED.kernel(), type: 'hash', key: u32, value: u64, maxEntries: 4, name: 'handle' });
  const h = m[internal];
  assert.equal(h.cursorSize, 4);
  assert.equal(h.label(), `id ${m.id} "handle"`);
  assert.deepEqual(h.ref, { id: m.id, name: 'handle' });
  assert.deepEqual(h.encodeKey(7), Buffer.from([7, 0, 0, 0]));
  assert.deepEqual(h.encodeValue(1n, Buffer.alloc(8)), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
  const e = h.annotate(new BpfError(1, 2));
  assert.ok(e instanceof BpfError && e.map?.id === m.id);
  h.assertOpen();
  m.close();
  assert.throws(() => h.assertOpen(), MapClosedError);
});
