import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BtfBuilder } from '../../src/btf/encode.js';
import { missingField } from '../../src/btf/missing.js';

test('missingField names the first field a value leaves out: nested structs, arrays, unions with any one member', () => {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const u16 = b.int('short unsigned int', 2);
  const u32 = b.int('unsigned int', 4);
  const name = b.array(b.int('char', 1, { char: true }), 8);
  const port = b.struct('port', [
    { name: 'num', type: u16 },
    { name: 'proto', type: u8 },
  ]);
  // An anonymous union of addresses, as flow keys carry v4 or v6.
  const addr = b.union('', [
    { name: 'v4', type: u32 },
    { name: 'v6', type: b.array(u8, 16) },
  ]);
  const key = b.struct('key', [
    { name: '', type: addr },
    { name: 'dst', type: port },
    { name: 'tags', type: b.array(u16, 2) },
    { name: 'comm', type: name },
    { name: 'flag', type: u8, bits: 1, bitOffset: 8 * 28 },
  ]);
  const btf = b.btf();
  const full = { v4: 1, dst: { num: 80, proto: 6 }, tags: [1, 2], comm: 'x', flag: 1 };
  assert.equal(missingField(btf, key, full), undefined);
  assert.equal(missingField(btf, key, { ...full, v4: undefined, v6: new Array(16).fill(0) }), undefined, 'either union member');
  assert.equal(missingField(btf, key, { ...full, v6: new Array(16).fill(0) }), undefined, 'both union members, as dump prints them');
  const { v4: _v4, ...noAddr } = full;
  assert.equal(missingField(btf, key, noAddr), '{v4 | v6}');
  assert.equal(missingField(btf, key, { ...full, dst: { num: 80 } }), 'dst.proto');
  assert.equal(missingField(btf, key, { ...full, tags: [1] }), 'tags[1]');
  assert.equal(missingField(btf, key, { ...full, v4: undefined, v6: [1, 2] }), 'v6[2]');
  const { flag: _flag, ...noFlag } = full;
  assert.equal(missingField(btf, key, noFlag), 'flag', 'bitfields are fields too');
  assert.equal(missingField(btf, key, { ...full, comm: '' }), undefined, 'text may be shorter than its array');
  // Values of the wrong shape are the codec's to refuse.
  assert.equal(missingField(btf, key, 7), undefined);
  assert.equal(missingField(btf, u32, 7), undefined);
});
