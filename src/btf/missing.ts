import type { Btf } from './btf.js';
import type { BtfComposite } from './types.js';

/**
 * The first field of a BTF type that a JSON value leaves out, as a path ("proto", "inner.port",
 * "addr[3]"), or undefined when every field is given. codecFromBtf encodes a missing field as
 * zero; a caller that must not guess (a map key written by `load`) refuses instead. A union is
 * complete with any one of its members; text (char arrays) and numbers are leaves. Values of the
 * wrong shape are the codec's to refuse: they count as given here.
 */
export function missingField(btf: Btf, typeId: number, json: unknown): string | undefined {
  return walk(btf, typeId, json, '', 0);
}

const join = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);

function walk(btf: Btf, id: number, json: unknown, path: string, depth: number): string | undefined {
  // The codec refuses types nested deeper than this before any value is looked at.
  if (depth > 64) return undefined;
  const t = btf.type(btf.resolve(id));
  if (t.kind === 'array') {
    const elem = btf.type(btf.resolve(t.type));
    if (elem.kind === 'int' && elem.size === 1 && (elem.char || elem.name === 'char')) return undefined;
    if (!Array.isArray(json)) return undefined;
    if (json.length < t.nelems) return `${path}[${json.length}]`;
    for (let i = 0; i < t.nelems; i++) {
      const m = walk(btf, t.type, json[i], `${path}[${i}]`, depth + 1);
      if (m !== undefined) return m;
    }
    return undefined;
  }
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  if (json === null || typeof json !== 'object' || Array.isArray(json) || Buffer.isBuffer(json)) return undefined;
  return composite(btf, t, json as Record<string, unknown>, path, depth);
}

/** The fields of a struct or union (anonymous members' fields flattened in, as the codec does). */
function composite(btf: Btf, t: BtfComposite, obj: Record<string, unknown>, path: string, depth: number): string | undefined {
  const given = (name: string): boolean => obj[name] !== undefined;
  if (t.kind === 'union') {
    // Any one member makes a union whole: check the members given, and name them all when none is.
    const names = fieldNames(btf, t, depth);
    if (!names.some(given)) return names.length === 0 ? undefined : join(path, `{${names.join(' | ')}}`);
  }
  for (const m of t.members) {
    if (m.name === '') {
      const inner = btf.type(btf.resolve(m.type));
      if (inner.kind === 'struct' || inner.kind === 'union') {
        const r = composite(btf, inner, obj, path, depth + 1);
        if (r !== undefined) return r;
      }
      continue; // an unnamed bitfield is padding
    }
    if (!given(m.name)) {
      if (t.kind === 'union') continue;
      return join(path, m.name);
    }
    const r = walk(btf, m.type, obj[m.name], join(path, m.name), depth + 1);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** The names a struct or union's value carries, anonymous members' flattened in. */
function fieldNames(btf: Btf, t: BtfComposite, depth: number): string[] {
  if (depth > 64) return [];
  return t.members.flatMap((m) => {
    if (m.name !== '') return [m.name];
    const inner = btf.type(btf.resolve(m.type));
    return inner.kind === 'struct' || inner.kind === 'union' ? fieldNames(btf, inner, depth + 1) : [];
  });
}
