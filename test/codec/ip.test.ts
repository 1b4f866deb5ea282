import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodecError } from '../../src/codec/codec.js';
import { ipv4, ipv6 } from '../../src/codec/ip.js';
import { runC } from '../helpers/cc.js';

// glibc's inet_pton/inet_ntop as the reference: "p4 TEXT" / "p6 TEXT" print the bytes in hex
// (or "bad"), "n4 HEX" / "n6 HEX" print the text.
const REF = String.raw`
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  char line[256], out[64];
  unsigned char b[16];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    int af = line[1] == '4' ? AF_INET : AF_INET6, n = af == AF_INET ? 4 : 16;
    if (line[0] == 'p') {
      if (inet_pton(af, line + 3, b) != 1) { puts("bad"); continue; }
      for (int i = 0; i < n; i++) printf("%02x", b[i]);
      puts("");
    } else {
      for (int i = 0; i < n; i++) sscanf(line + 3 + 2 * i, "%2hhx", &b[i]);
      puts(inet_ntop(af, b, out, sizeof out));
    }
  }
  return 0;
}
`;

function reference(lines: string[]): string[] {
  return runC(REF, lines.join('\n') + '\n').trimEnd().split('\n');
}

function encodeHex(c: typeof ipv6, text: string): string {
  const b = Buffer.alloc(c.size);
  c.encode(text, b, 0);
  return b.toString('hex');
}

/** Pseudo-random but repeatable: groups are zero half the time, so "::" runs of every length occur. */
function addresses(n: number): Buffer[] {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
  const out: Buffer[] = [];
  while (out.length < n) {
    const b = Buffer.alloc(16);
    for (let g = 0; g < 8; g++) b.writeUInt16BE(rnd() & 1 ? 0 : rnd() % 3 === 0 ? rnd() & 0xf : rnd(), 2 * g);
    // glibc prints ::/96 (deprecated IPv4-compatible) addresses as dotted quads; RFC 5952 does not ask for that.
    if (b.subarray(0, 12).every((x) => x === 0) && b.readUInt16BE(12) !== 0) continue;
    out.push(b);
  }
  out.push(Buffer.alloc(16), Buffer.from('00000000000000000000ffff0a000001', 'hex'), Buffer.from('00000000000000000000ffff00000000', 'hex'));
  return out;
}

describe('ipv4', () => {
  test('text <-> network-order bytes, as inet_pton/inet_ntop', () => {
    const texts = ['0.0.0.0', '10.0.0.1', '192.168.255.254', '255.255.255.255', '1.2.3.4'];
    const ref = reference([...texts.map((t) => `p4 ${t}`)]);
    texts.forEach((t, i) => {
      assert.equal(encodeHex(ipv4, t), ref[i]);
      const b = Buffer.from(`00${ref[i]}`, 'hex');
      assert.equal(ipv4.decode(b, 1), t);
      assert.equal(ipv4.fromJSON?.(ipv4.toJSON?.(t)), t);
    });
    assert.equal(ipv4.align, 4);
  });

  test('accepts exactly what inet_pton accepts, over random strings of digits and dots', () => {
    let seed = 99;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n;
    const texts: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const parts = Array.from({ length: 3 + rnd(3) }, () => (rnd(4) === 0 ? '' : String(rnd(4) === 0 ? rnd(1000) : rnd(256)).padStart(rnd(3) === 0 ? 2 : 0, '0')));
      texts.push(parts.join('.'));
    }
    const ref = reference(texts.map((t) => `p4 ${t}`));
    let valid = 0;
    texts.forEach((t, i) => {
      if (ref[i] === 'bad') assert.throws(() => ipv4.encode(t, Buffer.alloc(4), 0), CodecError, t);
      else {
        valid++;
        assert.equal(encodeHex(ipv4, t), ref[i], t);
      }
    });
    assert.ok(valid > 100 && valid < texts.length - 100, `both kinds occur (${valid} valid)`);
  });

  test('refuses what is not a dotted quad', () => {
    const bad = ['10.0.0', '256.0.0.1', '010.0.0.1', '1.2.3.4 ', '::1', '', 'a.b.c.d', '1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3.-1', '00.1.2.3', '1.2.3.1000'];
    assert.deepEqual(reference(bad.map((t) => `p4 ${t}`)), bad.map(() => 'bad'), 'glibc agrees they are invalid');
    for (const v of [...bad, 0x0a000001, null]) {
      const buf = Buffer.alloc(4, 0xee);
      assert.throws(() => ipv4.encode(v as string, buf, 0), (e: unknown) => e instanceof CodecError && /^ipv4: expected an IPv4 address/.test(e.message));
      assert.deepEqual(buf, Buffer.alloc(4, 0xee));
    }
    assert.throws(() => ipv4.decode(Buffer.alloc(4), 1), RangeError);
  });
});

describe('ipv6', () => {
  test('decode gives the same canonical text as glibc inet_ntop', () => {
    const addrs = addresses(3000);
    const ref = reference(addrs.map((b) => `n6 ${b.toString('hex')}`));
    addrs.forEach((b, i) => assert.equal(ipv6.decode(b, 0), ref[i], b.toString('hex')));
    assert.ok(ref.includes('::ffff:10.0.0.1'));
  });

  test('encode accepts any valid form and writes what inet_pton writes', () => {
    const addrs = addresses(500);
    const forms: string[] = [];
    for (const b of addrs) {
      const groups = Array.from({ length: 8 }, (_, g) => b.readUInt16BE(2 * g).toString(16));
      forms.push(groups.join(':'), groups.map((g) => g.padStart(4, '0').toUpperCase()).join(':'), ipv6.decode(b, 0));
      forms.push(`${groups.slice(0, 6).join(':')}:${[...b.subarray(12)].join('.')}`);
    }
    forms.push('::', '::1', '1::', '::1.2.3.4', '::FFFF:1.2.3.4', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', 'fe80::0001');
    const ref = reference(forms.map((f) => `p6 ${f}`));
    forms.forEach((f, i) => {
      assert.notEqual(ref[i], 'bad', f);
      assert.equal(encodeHex(ipv6, f), ref[i], f);
    });
  });

  test('accepts exactly what inet_pton accepts, over random near-addresses', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n;
    const hex = '0123456789abcdefABCDEF';
    const texts: string[] = [];
    for (let i = 0; i < 6000; i++) {
      let t = rnd(6) === 0 ? ':' : '';
      const count = 1 + rnd(9);
      for (let g = 0; g < count; g++) {
        if (g > 0) t += rnd(7) === 0 ? '::' : ':';
        t += Array.from({ length: rnd(8) === 0 ? 5 : rnd(4) === 0 ? 0 : 1 + rnd(4) }, () => hex[rnd(hex.length)]).join('');
      }
      if (rnd(4) === 0) t += `:${rnd(300)}.${rnd(256)}.${rnd(256)}.${rnd(4) === 0 ? '0' : ''}${rnd(256)}`;
      if (rnd(8) === 0) t += ':';
      if (rnd(30) === 0) t += ['%eth0', ' ', 'g', '.'][rnd(4)];
      texts.push(t);
    }
    const ref = reference(texts.map((t) => `p6 ${t}`));
    let valid = 0;
    texts.forEach((t, i) => {
      if (ref[i] === 'bad') assert.throws(() => ipv6.encode(t, Buffer.alloc(16), 0), CodecError, t);
      else {
        valid++;
        assert.equal(encodeHex(ipv6, t), ref[i], t);
      }
    });
    assert.ok(valid > 200 && valid < texts.length - 200, `both kinds occur (${valid} valid)`);
  });

  test('refuses invalid text, zones, and non-strings, writing nothing', () => {
    const bad = ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', ':1', '1:', '::ffff:1.2.3', '::1.2.3.4.5', 'fe80::1%eth0', '10.0.0.1', ''];
    assert.deepEqual(reference(bad.map((t) => `p6 ${t}`)), bad.map(() => 'bad'), 'glibc agrees they are invalid');
    for (const v of [...bad, null, Buffer.alloc(16)]) {
      const buf = Buffer.alloc(16, 0xee);
      assert.throws(() => ipv6.encode(v as string, buf, 0), (e: unknown) => e instanceof CodecError && /^ipv6: expected an IPv6 address/.test(e.message));
      assert.deepEqual(buf, Buffer.alloc(16, 0xee));
      assert.throws(() => ipv6.fromJSON?.(v), CodecError);
    }
  });

  test('JSON is the canonical text', () => {
    const b = Buffer.alloc(16);
    ipv6.encode('2001:DB8:0:0:0:0:0:1', b, 0);
    const j = ipv6.toJSON?.(ipv6.decode(b, 0));
    assert.equal(j, '2001:db8::1');
    assert.equal(ipv6.fromJSON?.(j), '2001:db8::1');
    assert.equal(ipv6.align, 4);
    assert.equal(ipv6.size, 16);
  });
});
