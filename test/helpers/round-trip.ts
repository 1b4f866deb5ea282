import assert from 'node:assert/strict';
import type { Codec } from '../../src/codec/codec.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import type { ValueCodec } from '../../src/map/options.js';

/** Every entry of the map, read raw, decodes and encodes back to the same bytes through the generated codecs. */
export function assertRoundTrips(kernel: Kernel, id: number, spec: { key: Codec<unknown>; value: ValueCodec<unknown> }): number {
  using typed = BpfMap.fromId(id, { kernel, key: spec.key, value: spec.value });
  using raw = BpfMap.fromId(id, { kernel, raw: true });
  const value = Buffer.alloc(typed.valueBytes);
  let n = 0;
  for (const k of raw.keys()) {
    assert.ok(raw.kernel.lookup(raw.fd, k, value, 0));
    const kb = Buffer.alloc(k.length);
    typed.keyCodec.encode(typed.keyCodec.decode(k, 0), kb, 0);
    assert.deepEqual(kb, k, `map ${typed.name}: key bytes`);
    const vb = Buffer.alloc(value.length);
    typed.valueCodec.encode(typed.valueCodec.decode(value, 0), vb, 0);
    assert.deepEqual(vb, value, `map ${typed.name}: value bytes of key ${k.toString('hex')}`);
    n++;
  }
  return n;
}
