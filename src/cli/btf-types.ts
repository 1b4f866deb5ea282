import { btfFromId } from '../btf/load.js';
import type { Btf } from '../btf/btf.js';
import type { Kernel, MapInfo } from '../kernel/kernel.js';

/** A type as C spells it, structs and unions with their members: `struct flow { unsigned int saddr; ... }`. */
export function cType(btf: Btf, id: number): string {
  const t = btf.type(btf.resolve(id));
  const name = btf.describe(id);
  if (t.kind !== 'struct' && t.kind !== 'union') return name;
  const members = t.members.map((m) => {
    const type = btf.describe(m.type);
    // Arrays read as C declares them: the size after the name.
    const arr = /^(.*)(\[\d+\])$/.exec(type);
    const decl = arr ? `${arr[1]} ${m.name}${arr[2]}` : `${type} ${m.name}`;
    return `${decl}${m.bitSize ? `:${m.bitSize}` : ''};`;
  });
  return `${name} { ${members.join(' ')} }`;
}

/** The C types of a map's keys and values from its BTF, or null when it has none. */
export function mapTypes(kernel: Kernel, info: MapInfo): { id: number; key: string | null; value: string | null } | null {
  if (info.btfId === 0) return null;
  const btf = btfFromId(info.btfId, kernel);
  return {
    id: info.btfId,
    key: info.btfKeyTypeId ? cType(btf, info.btfKeyTypeId) : null,
    value: info.btfValueTypeId ? cType(btf, info.btfValueTypeId) : null,
  };
}
