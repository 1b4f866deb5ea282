import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { array } from '../../src/codec/array.js';
import { CodecError } from '../../src/codec/codec.js';
import { cstring } from '../../src/codec/cstring.js';
import { u16, u32, u8 } from '../../src/codec/int.js';
import { ipv4, ipv6 } from '../../src/codec/ip.js';
import { struct } from '../../src/codec/struct.js';
import { union } from '../../src/codec/union.js';
import { cLayouts } from '../helpers/layout.js';

const addr = union({ v4: ipv4, v6: ipv6, raw: array(u32, 4) }, { name: 'addr' });
const odd = union({ c: cstring(5), n: u16 }, { name: 'odd' });

describe('union', () => {
  test('size and alignment match the C compiler', () => {
    const ref = cLayouts('union addr { uint32_t v4; struct in6_addr v6; uint32_t raw[4]; };\nunion odd { char c[5]; uint16_t n; };', {
      'union addr': ['v4', 'v6', 'raw'],
      'union odd': ['c', 'n'],
    });
    assert.deepEqual({ size: addr.size, align: addr.align }, { size: ref['union addr']?.size, align: ref['union addr']?.align });
    assert.deepEqual({ size: odd.size, align: odd.align }, { size: ref['union odd']?.size, align: ref['union odd']?.align });
    assert.deepEqual(Object.values(ref['union addr']?.offsets ?? {}), [0, 0, 0]);
  });

  test('encode writes the given member and zeroes the rest; decode reads every member', () => {
    const buf = Buffer.alloc(16, 0xff);
    addr.encode({ v4: '10.0.0.1' }, buf, 0);
    assert.equal(buf.toString('hex'), '0a000001' + '00'.repeat(12));
    const v = addr.decode(buf, 0);
    assert.deepEqual(v, { v4: '10.0.0.1', v6: 'a00:1::', raw: [buf.readUInt32LE(0), 0, 0, 0] });
    // A decoded value (all members) encodes back to the same bytes: the largest member wins.
    const again = Buffer.alloc(16, 0xff);
    addr.encode(v, again, 0);
    assert.deepEqual(again, buf);
    const o = Buffer.alloc(6, 0xff);
    odd.encode({ n: 0x4142 }, o, 0);
    assert.deepEqual([...o], [0x42, 0x41, 0, 0, 0, 0]);
  });

  test('JSON round-trips the bytes; errors name the member', () => {
    const buf = Buffer.alloc(16);
    addr.encode({ v6: '2001:db8::1' }, buf, 0);
    const json = JSON.parse(JSON.stringify(addr.toJSON?.(addr.decode(buf, 0))));
    const back = Buffer.alloc(16, 0xff);
    addr.encode(addr.fromJSON?.(json) ?? {}, back, 0);
    assert.deepEqual(back, buf);
    assert.deepEqual(addr.fromJSON?.({ v4: '1.2.3.4' }), { v4: '1.2.3.4' });
    assert.throws(() => addr.fromJSON?.({}), { message: 'union addr: expected an object with one of the members v4, v6, raw, got an object' });
    assert.throws(() => addr.fromJSON?.({ v4: 'nope' }), { message: 'addr.v4: expected an IPv4 address like "10.0.0.1", got "nope"' });
    assert.throws(() => addr.fromJSON?.({ v5: '1.2.3.4' }), /unknown field "v5"/);
    assert.throws(() => addr.encode({}, buf, 0), CodecError);
    const s = struct({ kind: u8, a: addr }, { name: 'peer' });
    assert.throws(() => s.encode({ kind: 4, a: { raw: [1, 2, 3, -1] } }, Buffer.alloc(s.size), 0), { message: 'peer.a.raw[3]: expected an integer 0..4294967295, got -1' });
  });
});
