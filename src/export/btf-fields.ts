import type { Btf } from '../btf/btf.js';
import { defaultDisplays } from '../btf/display.js';
import { btfFromId } from '../kernel/btf.js';
import type { BtfMember } from '../btf/types.js';
import type { BpfMap } from '../map/map.js';
import type { FieldResolver, ResolvedField } from './bind.js';

/** Finds `name` among a struct's members, looking inside anonymous structs and unions too. */
function member(btf: Btf, id: number, name: string): { m: BtfMember; bitOffset: number } | undefined {
  const t = btf.type(btf.resolve(id));
  if (t.kind === 'datasec') {
    // Global data: the variables are the members, at their offsets in the section.
    for (const v of t.vars) {
      const vt = btf.type(v.type);
      if (vt.kind === 'var' && vt.name === name) return { m: { name, type: vt.type, bitOffset: v.offset * 8, bitSize: 0 }, bitOffset: v.offset * 8 };
    }
    return undefined;
  }
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  for (const m of t.members) {
    if (m.name === name) return { m, bitOffset: m.bitOffset };
    if (m.name === '') {
      const inner = member(btf, m.type, name);
      if (inner) return { m: inner.m, bitOffset: m.bitOffset + inner.bitOffset };
    }
  }
  return undefined;
}

function memberNames(btf: Btf, id: number): string {
  const t = btf.type(btf.resolve(id));
  if (t.kind === 'datasec') return t.vars.map((v) => btf.type(v.type).name).join(', ');
  return t.kind === 'struct' || t.kind === 'union' ? t.members.map((m) => m.name || '(anonymous)').join(', ') : '';
}

/** What a type is to a decoder: an integer, an enum with its names, a char array, a float, or bytes. */
function describeType(btf: Btf, id: number, offset: number): ResolvedField {
  const rid = btf.resolve(id);
  const t = btf.type(rid);
  const size = btf.sizeOf(rid);
  switch (t.kind) {
    case 'int':
      return { offset, size, signed: t.signed, kind: 'int' };
    case 'enum':
    case 'enum64':
      return { offset, size, signed: t.signed, kind: 'enum', values: new Map(t.values.map((v) => [String(v.value), v.name])) };
    case 'float':
      return { offset, size, signed: true, kind: 'float' };
    case 'array': {
      const e = btf.type(btf.resolve(t.type));
      const chars = e.kind === 'int' && e.size === 1 && (e.char || e.name === 'char');
      return { offset, size, signed: false, kind: chars ? 'chars' : 'other' };
    }
    default:
      return { offset, size, signed: false, kind: 'other' };
  }
}

/** Resolves dotted member paths (`key.saddr`, `stats.bytes`) in one type of a BTF. */
function resolverOf(btf: Btf, typeId: number, side: string): (path: string) => ResolvedField | string {
  return (path) => {
    if (typeId === 0) return `the map's ${side} has no BTF type`;
    if (path === '') return describeType(btf, typeId, 0);
    let id = typeId;
    let bits = 0;
    for (const name of path.split('.')) {
      const found = member(btf, id, name);
      if (!found) {
        const names = memberNames(btf, id);
        return names
          ? `${btf.describe(id)} has no member "${name}" (members: ${names})`
          : `"${path}": ${btf.describe(id)} is not a struct, union or section`;
      }
      if (found.m.bitSize !== 0) return `member "${path}" is a bitfield: give its bytes with offset and size`;
      bits += found.bitOffset;
      id = found.m.type;
    }
    if (bits % 8 !== 0) return `member "${path}" does not start on a byte`;
    const display = defaultDisplays(btf, typeId).get(path);
    const f = describeType(btf, id, bits / 8);
    return display === 'ipv4' || display === 'ipv6' || display === 'port' ? { ...f, display } : f;
  };
}

/** The member resolver of a map's own BTF (its btf_id), or undefined when it has none. */
export function fieldsOf(map: BpfMap): FieldResolver | undefined {
  const info = map.info();
  if (info.btfId === 0) return undefined;
  const btf = btfFromId(info.btfId, map.kernel);
  return { key: resolverOf(btf, info.btfKeyTypeId, 'key'), value: resolverOf(btf, info.btfValueTypeId, 'value') };
}
