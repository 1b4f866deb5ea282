import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Btf } from '../../src/btf/btf.js';
import { VMLINUX_BTF, vmlinuxBtf } from '../../src/kernel/btf.js';
import { BATCH_ATTR } from '../../src/sys/batch.js';
import { BTF_INFO, BTF_LOAD_ATTR } from '../../src/sys/btf.js';
import { MAP_CREATE_ATTR } from '../../src/sys/map-create.js';
import { MAP_ELEM_ATTR } from '../../src/sys/map-elem.js';
import { INFO_ATTR, MAP_INFO } from '../../src/sys/map-info.js';
import { OBJ_ATTR } from '../../src/sys/obj.js';
import { OBJ_ID_ATTR } from '../../src/sys/obj-id.js';
import { PROG_LOAD_ATTR, PROG_TEST_RUN_ATTR } from '../../src/sys/prog.js';

type Layout = Readonly<Record<string, number>>;

/** Byte offsets of a struct's members, anonymous struct/union members merged in (as C names them). */
function offsets(btf: Btf, id: number, base = 0, out = new Map<string, number>()): Map<string, number> {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return out;
  for (const m of t.members) {
    if (m.name === '') offsets(btf, m.type, base + m.bitOffset / 8, out);
    else if (!out.has(m.name)) out.set(m.name, base + m.bitOffset / 8);
  }
  return out;
}

function check(name: string, layout: Layout, kernel: Map<string, number>, kernelSize: number): void {
  const { size, ...fields } = layout;
  for (const [field, off] of Object.entries(fields)) assert.equal(kernel.get(field), off, `${name}.${field}`);
  assert.ok((size as number) <= kernelSize, `${name}: ${size} bytes fit the kernel's ${kernelSize}`);
}

test('every bpf_attr and info layout of src/sys matches the running kernel\'s own BTF', (t) => {
  if (!existsSync(VMLINUX_BTF)) {
    if (process.env.CI === 'true') throw new Error(`CI needs ${VMLINUX_BTF}`);
    t.skip(`${VMLINUX_BTF} is missing`);
    return;
  }
  const btf = vmlinuxBtf();
  const attrId = btf.get('union bpf_attr');
  const attrSize = btf.sizeOf(attrId);
  const attr = btf.type(attrId);
  assert.equal(attr.kind, 'union');
  // Each command's part of union bpf_attr is one member struct: the one holding all the layout's fields.
  const parts = attr.kind === 'union' ? attr.members.map((m) => offsets(btf, m.type)) : [];
  const layouts: Record<string, Layout> = {
    MAP_CREATE_ATTR, MAP_ELEM_ATTR, BATCH_ATTR, OBJ_ATTR, OBJ_ID_ATTR, INFO_ATTR, BTF_LOAD_ATTR, PROG_LOAD_ATTR, PROG_TEST_RUN_ATTR,
  };
  for (const [name, layout] of Object.entries(layouts)) {
    const fields = Object.keys(layout).filter((f) => f !== 'size');
    const part = parts.find((p) => fields.every((f) => p.has(f)));
    assert.ok(part, `${name}: some member of union bpf_attr has ${fields.join(', ')}`);
    check(name, layout, part, attrSize);
  }
  for (const [name, layout, struct] of [['MAP_INFO', MAP_INFO, 'struct bpf_map_info'], ['BTF_INFO', BTF_INFO, 'struct bpf_btf_info']] as const) {
    const id = btf.get(struct);
    check(name, layout, offsets(btf, id), btf.sizeOf(id));
  }
});
