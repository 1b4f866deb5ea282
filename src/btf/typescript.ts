import type { Btf } from './btf.js';
import { codecFromBtf } from './codec.js';
import { BtfBuilder } from './encode.js';
import { BtfError } from './error.js';
import type { BtfComposite, BtfType } from './types.js';

/** One map to generate TypeScript for: its BTF and sizes, as the kernel reports them. */
export interface TsMapSpec {
  /** The exported const's name (sanitized to an identifier). */
  name: string;
  /** What the map is, for its doc comment (type, id, pin). */
  about: string;
  /** The map's BTF; undefined when it has none (keys and values are then Buffers). */
  btf: Btf | undefined;
  keyTypeId: number;
  valueTypeId: number;
  keySize: number;
  valueSize: number;
  perCpu: boolean;
  /** An array's key, which is its index even where BTF leaves it out (libbpf's global-data maps). */
  indexKey: boolean;
}

export interface TsModuleOptions {
  /** The module the generated file imports bpfmap from. */
  importFrom: string;
  /** Where the BTF came from, for the header comment. */
  source: string;
}

/** Typedef names of network-order integers: their fields are marked so. */
const NETWORK_ORDER = /^(__)?be(16|32|64)$/;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A name as an identifier: other characters become _, a leading digit gets one. */
export function identifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_$]/g, '_');
  return /^[0-9]/.test(s) || s === '' ? `_${s}` : s;
}

function pascal(name: string): string {
  const s = identifier(name)
    .split('_')
    .filter((p) => p !== '')
    .map((p) => (p[0] as string).toUpperCase() + p.slice(1))
    .join('');
  return s === '' ? 'Anon' : /^[0-9]/.test(s) ? `T${s}` : s;
}

function prop(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/**
 * Writes the types of a BTF as TypeScript: named structs, unions and sections as interfaces,
 * named enums as unions of their names, everything else inline, as codecFromBtf decodes it.
 */
class TypeWriter {
  private readonly names = new Map<number, string>();
  private readonly used = new Set<string>();
  private readonly decls: string[] = [];
  /** Declared types by name: what each is. */
  private readonly bodies = new Map<string, string>();

  constructor(private readonly btf: Btf) {}

  /** Reserves a name (a map const) so no type takes it. */
  reserve(name: string): void {
    this.used.add(name);
  }

  declarations(): string[] {
    return this.decls;
  }

  /**
   * The TypeScript type of what codecFromBtf decodes for id; named types are declared on first
   * use (a section under the name given, else its own). depth indents inline object types.
   */
  type(id: number, depth = 0, sectionName?: string): string {
    if (depth > 64) throw new BtfError('types nest too deep to write', id);
    const rid = this.btf.resolve(id);
    const t = this.btf.type(rid);
    switch (t.kind) {
      case 'int':
        return t.bool ? 'boolean' : t.bits > 32 ? 'bigint' : 'number';
      case 'enum':
      case 'enum64':
        return `${this.named(rid, t.name, () => this.enumType(t.values.map((v) => v.name)), depth)} | ${t.size > 4 ? 'bigint' : 'number'}`;
      case 'float':
        return 'number';
      case 'ptr':
        return 'bigint';
      case 'array': {
        const e = this.btf.type(this.btf.resolve(t.type));
        if (e.kind === 'int' && e.size === 1 && (e.char || e.name === 'char')) return 'string | Buffer';
        return `Array<${this.type(t.type, depth + 1)}>`;
      }
      case 'struct':
      case 'union':
        // Named types are declared at the top level; anonymous ones are written inline, indented.
        return this.named(rid, t.name, (d) => this.objectType(this.members(t, d), d), depth);
      case 'datasec':
        return this.named(rid, sectionName ?? t.name, (d) => this.objectType(this.variables(rid, d), d), depth);
      default:
        throw new BtfError(`${this.btf.describe(id)} has no value to write a type for`, id);
    }
  }

  /** A name for a named type (declared once as `export type Name = ...`), or the type inline. */
  private named(id: number, name: string, body: (depth: number) => string, depth: number): string {
    const known = this.names.get(id);
    if (known) return known;
    if (name === '') return body(depth);
    const text = body(0);
    let n = pascal(name);
    // The same type copied from several maps' BTF is declared once; a different one of the same name gets a number.
    for (let i = 2; this.used.has(n) && this.bodies.get(n) !== text; i++) n = `${pascal(name)}${i}`;
    this.names.set(id, n);
    if (this.bodies.get(n) === text) return n;
    this.used.add(n);
    this.bodies.set(n, text);
    this.decls.push(`export type ${n} = ${text};`);
    return n;
  }

  private enumType(names: string[]): string {
    return names.length === 0 ? 'never' : names.map((n) => JSON.stringify(n)).join(' | ');
  }

  private objectType(fields: { name: string; type: string; doc?: string }[], depth: number): string {
    const pad = '  '.repeat(depth + 1);
    const lines = fields.map((f) => `${f.doc ? `${pad}/** ${f.doc} */\n` : ''}${pad}${prop(f.name)}: ${f.type};`);
    return lines.length === 0 ? 'Record<string, never>' : `{\n${lines.join('\n')}\n${'  '.repeat(depth)}}`;
  }

  /** A network-order typedef anywhere in the chain of id, as a doc line. */
  private networkOrder(id: number): string | undefined {
    for (let cur = id, i = 0; i < 64; i++) {
      const t = this.btf.type(cur);
      if (t.kind === 'typedef' && NETWORK_ORDER.test(t.name)) return `${t.name}: network byte order`;
      if (!('type' in t) || t.kind === 'ptr' || t.kind === 'array') return undefined;
      cur = t.type;
    }
    return undefined;
  }

  /** The fields codecFromBtf makes of a struct or union: anonymous members merged in, unnamed bitfields left out. */
  private members(t: BtfComposite, depth: number): { name: string; type: string; doc?: string }[] {
    const out: { name: string; type: string; doc?: string }[] = [];
    for (const m of t.members) {
      const inner = this.btf.type(this.btf.resolve(m.type));
      if (m.name === '') {
        if (inner.kind === 'struct' || inner.kind === 'union') out.push(...this.members(inner, depth));
        continue;
      }
      const r = inner as BtfType;
      const oldBits = m.bitSize === 0 && r.kind === 'int' && (r.bits !== r.size * 8 || r.bitOffset !== 0 || m.bitOffset % 8 !== 0);
      const bits = m.bitSize > 0 ? m.bitSize : oldBits && r.kind === 'int' ? r.bits : 0;
      if ((m.bitSize > 0 || oldBits) && bits === 0) continue;
      let type = this.type(m.type, depth + 1);
      // A bitfield decodes as codecFromBtf reads it: a number up to 32 bits, a bigint beyond.
      if (bits > 0 && r.kind === 'int' && !r.bool) type = bits > 32 ? 'bigint' : 'number';
      const doc = this.networkOrder(m.type);
      out.push(doc ? { name: m.name, type, doc } : { name: m.name, type });
    }
    return out;
  }

  private variables(id: number, depth: number): { name: string; type: string; doc?: string }[] {
    const t = this.btf.type(id);
    if (t.kind !== 'datasec') return [];
    return t.vars.map((v) => {
      const vt = this.btf.type(v.type);
      if (vt.kind !== 'var') throw new BtfError(`${this.btf.describe(v.type)} in datasec ${t.name} is not a variable`, v.type);
      const doc = this.networkOrder(vt.type);
      const type = this.type(vt.type, depth + 1);
      return doc ? { name: vt.name, type, doc } : { name: vt.name, type };
    });
  }
}

/**
 * A TypeScript module for maps: per map an exported `{ key, value }` of codecs, typed, that
 * `BpfMap.openPinned(path, it)` takes with no cast, and the types of its keys and values. The
 * codecs are codecFromBtf over the maps' own types, embedded as a BTF blob: they lay out every
 * byte as the map's BTF says, exactly as opening the map without codecs would.
 */
export function typescriptModule(specs: readonly TsMapSpec[], opts: TsModuleOptions): string {
  const b = new BtfBuilder();
  const sides: { key?: number; value?: number }[] = specs.map((s) => {
    const side: { key?: number; value?: number } = {};
    const copy = (id: number, size: number): number | undefined => {
      if (!s.btf || id === 0) return undefined;
      try {
        const c = codecFromBtf(s.btf, id);
        return c.size === size ? b.import(s.btf, id) : undefined;
      } catch (e) {
        if (e instanceof BtfError) return undefined;
        throw e;
      }
    };
    const v = copy(s.valueTypeId, s.valueSize);
    if (v !== undefined) side.value = v;
    const k = s.indexKey && v !== undefined ? undefined : copy(s.keyTypeId, s.keySize);
    if (k !== undefined) side.key = k;
    return side;
  });
  const btf = b.btf();
  const w = new TypeWriter(btf);
  const consts = specs.map((s) => identifier(s.name));
  for (const c of consts) w.reserve(c);
  const bodies: string[] = [];
  const imports = new Set<string>(['type Codec']);
  specs.forEach((s, i) => {
    const side = sides[i] as { key?: number; value?: number };
    let key: string;
    if (side.key !== undefined) key = `codec<${w.type(side.key)}>(${side.key})`;
    else if (s.indexKey && side.value !== undefined) {
      imports.add('u32');
      key = 'u32';
    } else {
      imports.add('bytes');
      key = `bytes(${s.keySize})`;
    }
    let value: string;
    // A section's type is named after its map: every program has a .bss.
    if (side.value !== undefined) value = `codec<${w.type(side.value, 0, s.name)}>(${side.value})`;
    else {
      imports.add('bytes');
      value = `bytes(${s.valueSize})`;
    }
    if (s.perCpu) {
      imports.add('perCpu');
      value = `perCpu(${value})`;
    }
    bodies.push(`/** ${s.about} */\nexport const ${consts[i]} = { key: ${key}, value: ${value} };`);
  });
  const anyBtf = sides.some((s) => s.key !== undefined || s.value !== undefined);
  if (anyBtf) for (const n of ['codecFromBtf', 'parseBtf']) imports.add(n);
  const lines = [
    `// Generated by bpfmap gen from the BTF of ${opts.source}. Do not edit: generate it again.`,
    `import { ${[...imports].sort((x, y) => x.replace('type ', '').localeCompare(y.replace('type ', ''))).join(', ')} } from ${JSON.stringify(opts.importFrom)};`,
    '',
  ];
  if (anyBtf) {
    lines.push(
      "/** The maps' key and value types, as BTF: the codecs below are made from it. */",
      `const btf = parseBtf(Buffer.from(${JSON.stringify(b.build().toString('base64'))}, 'base64'));`,
      '',
      '/** The codec of a type of the BTF above, as the declared type decodes it. */',
      'function codec<T>(id: number): Codec<T> {',
      '  return codecFromBtf(btf, id) as unknown as Codec<T>;',
      '}',
      '',
    );
  } else {
    imports.delete('type Codec');
    lines[1] = `import { ${[...imports].sort().join(', ')} } from ${JSON.stringify(opts.importFrom)};`;
  }
  for (const d of w.declarations()) lines.push(d, '');
  lines.push(...bodies.flatMap((x) => [x, '']));
  return lines.join('\n').replace(/\n+$/, '\n');
}
