import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { encodeBtf } from '../../src/btf/encode.js';
import { btfFromId, loadBtf, openBtf, VMLINUX_BTF } from '../../src/kernel/btf.js';
import { parseBtf } from '../../src/btf/parse.js';
import { BpfError } from '../../src/kernel/error.js';
import { openKernel } from '../../src/kernel/open.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { everyKind } from '../btf/fixtures.js';

describe('BTF in the kernel (real kernel)', () => {
  test('a built blob loads, and reads back by id byte for byte, every kind intact', (t) => {
    if (!linuxAvailable(t)) return;
    const b = everyKind();
    const blob = b.build();
    using obj = loadBtf(blob);
    assert.ok(obj.id > 0);
    const info = obj.kernel.btfInfo(obj.fd);
    assert.deepEqual(info, { id: obj.id, size: blob.length, name: '', kernelBtf: false });
    assert.deepEqual(obj.kernel.btfData(obj.fd), blob);
    assert.deepEqual(btfFromId(obj.id).types, b.btf().types);
  });

  test('the kernel\'s own BTF (by id) is /sys/kernel/btf/vmlinux', (t) => {
    if (!linuxAvailable(t)) return;
    const k = openKernel();
    let vmlinuxId: number | undefined;
    for (let id = k.nextBtfId(0); id !== null && vmlinuxId === undefined; id = k.nextBtfId(id)) {
      const fd = k.btfFdById(id);
      try {
        const info = k.btfInfo(fd);
        if (info.kernelBtf && info.name === 'vmlinux') vmlinuxId = id;
      } finally {
        k.close(fd);
      }
    }
    assert.ok(vmlinuxId !== undefined, 'some BTF object is the kernel\'s');
    using obj = openBtf(vmlinuxId);
    assert.deepEqual(obj.kernel.btfData(obj.fd), readFileSync(VMLINUX_BTF));
  });

  test('the kernel refuses bad BTF with its log quoted in the error', (t) => {
    if (!linuxAvailable(t)) return;
    const cases: Array<[Buffer, string, RegExp]> = [
      [encodeBtf([{ kind: 'ptr', name: '', type: 7 }]), 'EINVAL', /PTR.*Invalid type_id/],
      [encodeBtf([{ kind: 'typedef', name: 'a', type: 2 }, { kind: 'typedef', name: 'b', type: 1 }]), 'EEXIST', /Loop detected/],
      [Buffer.from('definitely not a BTF blob, but long enough'), 'EINVAL', /btf_header not found|magic/],
    ];
    for (const [blob, code, hint] of cases) {
      assert.throws(() => loadBtf(blob), (e: unknown) => {
        assert.ok(e instanceof BpfError, String(e));
        assert.equal(e.command, 'BPF_BTF_LOAD');
        assert.equal(e.code, code);
        assert.match(e.hint ?? '', hint);
        assert.match(e.message, /the kernel's BTF check says/);
        return true;
      });
    }
    assert.throws(() => loadBtf(Buffer.alloc(0)), TypeError);
  });

  test('unknown BTF ids and closed BTF objects are clear errors', (t) => {
    if (!linuxAvailable(t)) return;
    assert.throws(() => openBtf(0xfffffff0), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT' && /no BTF object has id/.test(e.message));
    const obj = loadBtf(everyKind().build());
    obj.close();
    obj.close();
    assert.throws(() => obj.read(), /closed/);
    assert.equal(parseBtf(everyKind().build()).count, everyKind().btf().count);
  });
});
