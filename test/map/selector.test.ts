import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap } from '../../src/map/map.js';
import { mapSelectorText, openSelected, selectorSubject, toMapSelector } from '../../src/map/selector.js';
import { LINUX, pinPath, u32 } from '../helpers/kernel.js';

describe('map selectors', () => {
  test('id, pinned and name parse, print back as they were written, and say what is wrong', () => {
    for (const text of ['id 7', 'id 4294967295', 'pinned /sys/fs/bpf/a b', 'name conn_count']) {
      const [kind, ...rest] = text.split(' ');
      const s = toMapSelector(kind as string, rest.join(' '));
      assert.ok(typeof s === 'object', text);
      assert.equal(mapSelectorText(s), text);
    }
    assert.deepEqual(toMapSelector('id', '12'), { kind: 'id', id: 12 });
    for (const bad of ['0', '-1', '1.5', 'abc', '4294967296', '0x10', '']) assert.equal(toMapSelector('id', bad), 'id', bad);
    for (const bad of ['idd', 'ID', 'path', '']) assert.equal(toMapSelector(bad, '1'), 'kind', bad);
    assert.equal(selectorSubject({ kind: 'name', name: 'x' }), '"x"');
    assert.equal(selectorSubject({ kind: 'pinned', path: '/p' }), '/p');
  });

  test('each kind opens the map it names; pinned read-only is enforced; raw gives bytes', (t) => {
    if (!LINUX.available(t)) return;
    const kernel = LINUX.kernel();
    const name = `sel${randomBytes(4).toString('hex')}`;
    using m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4, name });
    m.set(u32(1), u32(2));
    const path = pinPath('selector');
    m.pin(path);
    try {
      for (const s of [{ kind: 'id', id: m.id }, { kind: 'pinned', path }, { kind: 'name', name }] as const) {
        using o = openSelected(s, { kernel, raw: true, readOnly: true });
        assert.equal(o.id, m.id, mapSelectorText(s));
        assert.deepEqual(o.get(u32(1)), u32(2));
      }
      using ro = openSelected({ kind: 'pinned', path }, { kernel, raw: true, readOnly: true });
      assert.throws(() => ro.set(u32(1), u32(3)), (e: unknown) => e instanceof BpfError && e.code === 'EPERM');
      using rw = openSelected({ kind: 'pinned', path }, { kernel, raw: true });
      rw.set(u32(1), u32(3));
      assert.deepEqual(m.get(u32(1)), u32(3));
    } finally {
      unlinkSync(path);
    }
  });
});
