import { btfFromId } from '../kernel/btf.js';
import type { Btf } from '../btf/btf.js';
import type { Kernel, MapInfo } from '../kernel/kernel.js';

/** A type as C spells it, structs and unions with their members: `struct flow { unsigned int saddr; ... }`. */
export function cType(btf: Btf, id: number): string {
  const t = btf.type(btf.resolve(id));
  const name = btf.describe(id);
  // Global data (.bss, .data, .rodata): its variables, as the program declares them.
  if (t.kind === 'datasec') return `datasec ${t.name} { ${t.vars.map((v) => `${decl(btf, btf.type(v.type))};`).join(' ')} }`;
  if (t.kind !== 'struct' && t.kind !== 'union') return name;
  const members = t.members.map((m): string => {
    // An anonymous struct or union shows its members, as C declares it.
    const inner = btf.type(btf.resolve(m.type));
    if (m.name === '' && (inner.kind === 'struct' || inner.kind === 'union')) return `${cType(btf, m.type).replace(' (anon)', '')};`;
    return `${decl(btf, m)}${m.bitSize ? `:${m.bitSize}` : ''};`;
  });
  return `${name} { ${members.join(' ')} }`;
}

/** A member or variable declared as C does: arrays with the size after the name. */
function decl(btf: Btf, m: { name: string; type?: number }): string {
  const type = btf.describe(m.type ?? 0);
  const arr = /^(.*)(\[\d+\])$/.exec(type);
  return arr ? `${arr[1]} ${m.name}${arr[2]}` : `${type} ${m.name}`;
}

/**
 * The C types of a map's keys and values from its BTF, or null when it has none. Reading BTF can
 * be refused where the map is not (BTF_GET_FD_BY_ID wants CAP_SYS_ADMIN): the types then say why.
 */
export function mapTypes(kernel: Kernel, info: MapInfo): { id: number; key: string | null; value: string | null } | null {
  if (info.btfId === 0) return null;
  let btf: Btf;
  try {
    btf = btfFromId(info.btfId, kernel);
  } catch (e) {
    const why = `unreadable: ${(e as Error).message}`;
    return { id: info.btfId, key: why, value: why };
  }
  return {
    id: info.btfId,
    key: info.btfKeyTypeId ? cType(btf, info.btfKeyTypeId) : null,
    value: info.btfValueTypeId ? cType(btf, info.btfValueTypeId) : null,
  };
}
