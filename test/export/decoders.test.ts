import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabel, labelDecoder, valueReader, type LabelDecoder, type ValueReader } from '../../src/export/decoders.js';

function decoder(...args: Parameters<typeof labelDecoder>): LabelDecoder {
  const d = labelDecoder(...args);
  assert.equal(typeof d, 'function', String(d));
  return d as LabelDecoder;
}

function reader(size: number, signed: boolean, float: boolean): ValueReader {
  const r = valueReader(size, signed, float);
  assert.equal(typeof r, 'function', String(r));
  return r as ValueReader;
}

test('label decoders read their field at an offset', () => {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(2n ** 64n - 1n, 1);
  assert.equal(decoder('integer', { size: 8, signed: false })(b, 1), '18446744073709551615', 'exact at 64 bits');
  assert.equal(decoder('integer', { size: 8, signed: true })(b, 1), '-1');
  b.writeInt16LE(-300, 10);
  assert.equal(decoder('integer', { size: 2, signed: true })(b, 10), '-300');
  assert.equal(decoder('integer', { size: 2, signed: false })(b, 10), String(65536 - 300));
  assert.equal(decoder('hex', { size: 3, signed: false })(Buffer.from([9, 0xab, 0x01, 0xff]), 1), 'ab01ff');
  assert.equal(decoder('ipv4', { size: 4, signed: false })(Buffer.from([0, 192, 168, 0, 1]), 1), '192.168.0.1');
  const v6 = Buffer.alloc(17);
  v6.writeUInt16BE(0x2001, 1);
  v6.writeUInt16BE(0xdb8, 3);
  v6.writeUInt16BE(1, 15);
  assert.equal(decoder('ipv6', { size: 16, signed: false })(v6, 1), '2001:db8::1');
  assert.equal(decoder('port', { size: 2, signed: false })(Buffer.from([0x01, 0xbb]), 0), '443', 'network order');
  assert.equal(decoder('string', { size: 8, signed: false })(Buffer.from('a"b\\c\0zz'), 0), 'a\\"b\\\\c', 'up to the NUL, escaped');
  assert.equal(decoder('string', { size: 3, signed: false })(Buffer.from('abcdef'), 1), 'bcd', 'no NUL: the whole field');
  const names = new Map([['1', 'ESTABLISHED'], ['-2', 'we"ird']]);
  const e = decoder('enum', { size: 4, signed: true, values: names });
  const n = Buffer.alloc(4);
  n.writeInt32LE(1);
  assert.equal(e(n, 0), 'ESTABLISHED');
  n.writeInt32LE(-2);
  assert.equal(e(n, 0), 'we\\"ird');
  n.writeInt32LE(7);
  assert.equal(e(n, 0), '7', 'a value without a name stays a number');
});

test('decoders refuse fields of the wrong size with a reason', () => {
  assert.match(String(labelDecoder('integer', { size: 3, signed: false })), /1, 2, 4 or 8 bytes, the field has 3 \(hex reads any size\)/);
  assert.match(String(labelDecoder('ipv4', { size: 2, signed: false })), /reads 4 bytes/);
  assert.match(String(labelDecoder('ipv6', { size: 4, signed: false })), /reads 16 bytes/);
  assert.match(String(labelDecoder('port', { size: 4, signed: false })), /reads 2 bytes/);
  assert.match(String(labelDecoder('enum', { size: 4, signed: false })), /needs a BTF enum member or values/);
  assert.match(String(valueReader(3, false, false)), /1, 2, 4 or 8 bytes/);
  assert.match(String(valueReader(2, false, true)), /4 or 8 bytes/);
});

test('values: integers of every size and sign, exact to 2^53, floats', () => {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(2n ** 53n - 1n, 0);
  assert.equal(reader(8, false, false)(b, 0), 2 ** 53 - 1);
  b.writeBigUInt64LE(2n ** 64n - 1n, 0);
  assert.equal(reader(8, false, false)(b, 0), 2 ** 64);
  b.writeBigInt64LE(-5n, 0);
  assert.equal(reader(8, true, false)(b, 0), -5);
  b.writeBigInt64LE(-(2n ** 40n) - 3n, 8);
  assert.equal(reader(8, true, false)(b, 8), -(2 ** 40) - 3);
  b.writeInt8(-7, 0);
  assert.equal(reader(1, true, false)(b, 0), -7);
  assert.equal(reader(1, false, false)(b, 0), 249);
  b.writeUInt32LE(4_000_000_000, 4);
  assert.equal(reader(4, false, false)(b, 4), 4_000_000_000);
  b.writeDoubleLE(1.5e300, 0);
  assert.equal(reader(8, false, true)(b, 0), 1.5e300);
  b.writeFloatLE(0.25, 0);
  assert.equal(reader(4, false, true)(b, 0), 0.25);
});

test('escapeLabel', () => {
  assert.equal(escapeLabel('plain'), 'plain');
  assert.equal(escapeLabel('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});
