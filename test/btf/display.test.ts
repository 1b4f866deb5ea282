import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultDisplays, displayCodec } from '../../src/btf/display.js';
import type { BtfValue } from '../../src/btf/codec.js';
import { BtfBuilder } from '../../src/btf/encode.js';
import { BtfError } from '../../src/btf/error.js';

/** A flow key as kernel headers spell it: __be32 addresses, __be16 ports, an in6_addr, an enum and a comm. */
function types(): { b: BtfBuilder; flow: number } {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u16 = b.typedef('__u16', b.int('short unsigned int', 2));
  const u32 = b.typedef('__u32', b.int('unsigned int', 4));
  const be16 = b.typedef('__be16', u16);
  const be32 = b.typedef('__be32', u32);
  const in6 = b.struct('in6_addr', [
    {
      name: 'in6_u',
      type: b.union('', [
        { name: 'u6_addr8', type: b.array(u8, 16) },
        { name: 'u6_addr32', type: b.array(be32, 4) },
      ]),
    },
  ]);
  const proto = b.enum('proto', { TCP: 6, UDP: 17 });
  const inner = b.struct('inner', [
    { name: 'dst_ip', type: be32 },
    { name: 'tag', type: u32 },
  ]);
  const flow = b.struct('flow', [
    { name: 'saddr', type: be32 },
    { name: 'sport', type: be16 },
    { name: 'proto', type: proto },
    { name: 'v6addr', type: in6 },
    { name: 'raw_addr', type: b.array(u8, 16) },
    { name: 'inner', type: inner },
    { name: 'count', type: u32 },
    { name: 'mark', type: be32 },
    { name: 'comm', type: b.array(b.int('char', 1, { char: true }), 8) },
    { name: 'lport', type: u16 },
  ]);
  return { b, flow };
}

test('defaults: __be32 *addr/*ip as ipv4, in6_addr and 16-byte *addr* as ipv6, __be16 *port as port; nothing else', () => {
  const { b, flow } = types();
  assert.deepEqual(
    [...defaultDisplays(b.btf(), flow)],
    [
      ['saddr', 'ipv4'],
      ['sport', 'port'],
      ['v6addr', 'ipv6'],
      ['raw_addr', 'ipv6'],
      ['inner.dst_ip', 'ipv4'],
    ],
    'mark (__be32 not named addr), count, and lport (a host-order __u16) keep numbers',
  );
});

test('the display codec shows addresses and ports and reads the shown form back, byte for byte', () => {
  const { b, flow } = types();
  const c = displayCodec(b.btf(), flow);
  const bytes = Buffer.alloc(c.size);
  Buffer.from([10, 1, 54, 15]).copy(bytes, 0);
  bytes.writeUInt16BE(61163, 4);
  bytes.writeUInt32LE(6, 8);
  Buffer.from('20010db8000000000000000000000001', 'hex').copy(bytes, 12);
  Buffer.from('fe800000000000000000000000000002', 'hex').copy(bytes, 28);
  Buffer.from([192, 168, 27, 254]).copy(bytes, 44);
  bytes.writeUInt32BE(0xdeadbeef, 56);
  bytes.write('curl', 60);
  const v = c.decode(bytes, 0) as Record<string, BtfValue>;
  assert.equal(v.saddr, '10.1.54.15');
  assert.equal(v.sport, 61163);
  assert.equal(v.proto, 'TCP');
  assert.equal(v.v6addr, '2001:db8::1');
  assert.equal(v.raw_addr, 'fe80::2');
  assert.deepEqual(v.inner, { dst_ip: '192.168.27.254', tag: 0 });
  assert.equal(v.mark, 0xdeadbeef);
  assert.equal(v.comm, 'curl');
  const json = JSON.parse(JSON.stringify(c.toJSON?.(v))) as unknown;
  const back = Buffer.alloc(c.size);
  c.encode(c.fromJSON?.(json) as BtfValue, back, 0);
  assert.deepEqual(back, bytes);
  // The plain BTF form loads too (a dump made with --decode off).
  const plain = displayCodec(b.btf(), flow, { defaults: false });
  const again = Buffer.alloc(c.size);
  c.encode(plain.decode(bytes, 0), again, 0);
  assert.deepEqual(again, bytes);
  assert.equal((plain.decode(bytes, 0) as Record<string, BtfValue>).saddr, 0x0a01360f);
});

test('fields override the defaults: integer turns one off, hex and string and value maps, nested paths; bad ones say why', () => {
  const { b, flow } = types();
  const btf = b.btf();
  const c = displayCodec(btf, flow, {
    fields: { saddr: 'integer', 'inner.tag': { values: { 7: 'seven' } }, mark: 'hex', lport: 'port', raw_addr: 'string' },
  });
  const bytes = Buffer.alloc(c.size);
  Buffer.from([10, 0, 0, 1]).copy(bytes, 0);
  bytes.writeUInt32LE(7, 48);
  bytes.writeUInt32BE(0xdeadbeef, 56);
  bytes.writeUInt16BE(8080, 68);
  bytes.write('hi', 28);
  const v = c.decode(bytes, 0) as Record<string, BtfValue>;
  assert.equal(v.saddr, 0x0a000001);
  assert.deepEqual(v.inner, { dst_ip: '0.0.0.0', tag: 'seven' });
  assert.equal(v.mark, 'deadbeef');
  assert.equal(v.lport, 8080, 'port reads network order even from a __u16');
  assert.equal(v.raw_addr, 'hi');
  const back = Buffer.alloc(c.size);
  c.encode(v, back, 0);
  assert.deepEqual(back, bytes);
  assert.throws(
    () => displayCodec(btf, flow, { fields: { sport: 'ipv4' } }),
    (e: Error) => e instanceof BtfError && /ipv4 decoder reads 4 bytes, "sport"/.test(e.message),
  );
  assert.throws(() => displayCodec(btf, flow, { fields: { nope: 'hex' } }), /no field "nope" \(fields: saddr, sport/);
  assert.throws(() => c.encode({ lport: 70000 }, back, 0), /lport: expected a port 0\.\.65535/);
  assert.throws(() => c.encode({ saddr: 'x' }, back, 0), TypeError, 'integer: the BTF codec refuses text');
});
