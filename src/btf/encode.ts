import { Btf } from './btf.js';
import { BtfError } from './error.js';
import {
  BTF_HEADER_SIZE,
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND,
  BTF_MAGIC,
  BTF_VERSION,
  type BtfType,
} from './types.js';

/** A string section under construction: each distinct string once, offset 0 the empty string. */
class StringTable {
  private readonly offsets = new Map<string, number>([['', 0]]);
  private readonly parts: Buffer[] = [Buffer.alloc(1)];
  private len = 1;

  add(s: string): number {
    const hit = this.offsets.get(s);
    if (hit !== undefined) return hit;
    const bytes = Buffer.from(`${s}\0`, 'utf8');
    if (bytes.indexOf(0) !== bytes.length - 1) throw new BtfError(`name ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.len;
    this.offsets.set(s, off);
    this.parts.push(bytes);
    this.len += bytes.length;
    return off;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new BtfError(`${what} must be a u32, got ${n}`);
  return n;
}

function vlen(n: number, what: string): number {
  if (n > 0xffff) throw new BtfError(`${what}: ${n} entries, more than BTF's 65535`);
  return n;
}

/**
 * Encodes types 1..n (type ids are positions + 1; void is 0) into a BTF blob the kernel's
 * BPF_BTF_LOAD accepts. The inverse of parseBtf: parseBtf(encodeBtf(btf.types.slice(1))) gives
 * the same types.
 */
export function encodeBtf(types: readonly BtfType[]): Buffer {
  const strs = new StringTable();
  const words: number[] = [];
  const head = (name: string, kind: number, n: number, kflag: boolean, sizeOrType: number, what: string): void => {
    words.push(strs.add(name), ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen(n, what), u32(sizeOrType, `${what} size/type`));
  };
  for (const t of types) {
    const what = `${t.kind} ${t.name || '(anon)'}`;
    switch (t.kind) {
      case 'int': {
        head(t.name, BTF_KIND.int, 0, false, t.size, what);
        const enc = (t.signed ? BTF_INT_SIGNED : 0) | (t.char ? BTF_INT_CHAR : 0) | (t.bool ? BTF_INT_BOOL : 0);
        if (t.bits < 0 || t.bits > 128 || t.bitOffset < 0 || t.bitOffset > 255) throw new BtfError(`${what}: bits/offset out of range`);
        words.push(((enc << 24) | (t.bitOffset << 16) | t.bits) >>> 0);
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        head(t.name, BTF_KIND[t.kind], 0, false, t.type, what);
        break;
      case 'array':
        head(t.name, BTF_KIND.array, 0, false, 0, what);
        words.push(u32(t.type, what), u32(t.indexType, what), u32(t.nelems, what));
        break;
      case 'struct':
      case 'union':
        head(t.name, BTF_KIND[t.kind], t.members.length, t.bitfields, t.size, what);
        for (const m of t.members) {
          if (!t.bitfields && m.bitSize !== 0) throw new BtfError(`${what}: bitfield member "${m.name}" needs bitfields: true`);
          if (t.bitfields && (m.bitSize > 255 || m.bitOffset > 0xffffff)) throw new BtfError(`${what}: member "${m.name}" out of range`);
          words.push(strs.add(m.name), u32(m.type, what), t.bitfields ? ((m.bitSize << 24) | m.bitOffset) >>> 0 : u32(m.bitOffset, what));
        }
        break;
      case 'enum':
        head(t.name, BTF_KIND.enum, t.values.length, t.signed, t.size, what);
        for (const v of t.values) {
          if (!Number.isInteger(v.value) || v.value < -0x80000000 || v.value > 0xffffffff) throw new BtfError(`${what}: ${v.name} = ${v.value} does not fit 32 bits`);
          words.push(strs.add(v.name), v.value >>> 0);
        }
        break;
      case 'enum64':
        head(t.name, BTF_KIND.enum64, t.values.length, t.signed, t.size, what);
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.value);
          words.push(strs.add(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
        }
        break;
      case 'fwd':
        head(t.name, BTF_KIND.fwd, 0, t.union, 0, what);
        break;
      case 'func':
        head(t.name, BTF_KIND.func, t.linkage, false, t.type, what);
        break;
      case 'func_proto':
        head(t.name, BTF_KIND.func_proto, t.params.length, false, t.returnType, what);
        for (const p of t.params) words.push(strs.add(p.name), u32(p.type, what));
        break;
      case 'var':
        head(t.name, BTF_KIND.var, 0, false, t.type, what);
        words.push(u32(t.linkage, what));
        break;
      case 'datasec':
        head(t.name, BTF_KIND.datasec, t.vars.length, false, t.size, what);
        for (const v of t.vars) words.push(u32(v.type, what), u32(v.offset, what), u32(v.size, what));
        break;
      case 'float':
        head(t.name, BTF_KIND.float, 0, false, t.size, what);
        break;
      case 'decl_tag':
        head(t.name, BTF_KIND.decl_tag, 0, t.attribute, t.type, what);
        words.push(t.componentIdx >>> 0);
        break;
      case 'type_tag':
        head(t.name, BTF_KIND.type_tag, 0, t.attribute, t.type, what);
        break;
      default:
        throw new BtfError(`cannot encode a type of kind ${String((t as { kind: unknown }).kind)}`);
    }
  }
  const typeSec = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) typeSec.writeUInt32LE((words[i] as number) >>> 0, i * 4);
  const strSec = strs.bytes();
  const hdr = Buffer.alloc(BTF_HEADER_SIZE);
  hdr.writeUInt16LE(BTF_MAGIC, 0);
  hdr.writeUInt8(BTF_VERSION, 2);
  hdr.writeUInt8(0, 3);
  hdr.writeUInt32LE(BTF_HEADER_SIZE, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(typeSec.length, 12);
  hdr.writeUInt32LE(typeSec.length, 16);
  hdr.writeUInt32LE(strSec.length, 20);
  return Buffer.concat([hdr, typeSec, strSec]);
}

/** A struct member for BtfBuilder.struct: offsets follow C's natural layout unless given. */
export interface MemberSpec {
  name: string;
  type: number;
  /** Byte offset; by default the next offset aligned for the member's type. */
  offset?: number;
  /** Bitfield: width in bits, placed at bitOffset (required for bitfields). */
  bits?: number;
  bitOffset?: number;
}

/**
 * Builds BTF by hand: each method adds one type and returns its id. Structs are laid out as a
 * C compiler lays them out for a 64-bit target.
 */
export class BtfBuilder {
  private readonly types: BtfType[] = [];
  private readonly named = new Map<string, number>();

  /** Adds any type (as parseBtf describes it); returns its id. */
  add(t: BtfType): number {
    this.types.push(t);
    return this.types.length;
  }

  /** An int type, by its C name (e.g. "unsigned int", "__u64", "char"); reuses an identical one. */
  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number } = {}): number {
    const key = `int ${name}/${size}/${opts.signed}/${opts.char}/${opts.bool}/${opts.bits}`;
    const hit = this.named.get(key);
    if (hit !== undefined) return hit;
    const id = this.add({ kind: 'int', name, size, signed: opts.signed ?? false, char: opts.char ?? false, bool: opts.bool ?? false, bitOffset: 0, bits: opts.bits ?? size * 8 });
    this.named.set(key, id);
    return id;
  }

  /** A floating-point type ("float", 4; "double", 8). */
  float(name: string, size: number): number {
    return this.add({ kind: 'float', name, size });
  }

  /** A pointer to type. */
  ptr(type: number): number {
    return this.add({ kind: 'ptr', name: '', type });
  }

  /** A typedef: name for type (e.g. "__be32" for a __u32). */
  typedef(name: string, type: number): number {
    return this.add({ kind: 'typedef', name, type });
  }

  /** A const, volatile or restrict qualifier of type. */
  qualifier(kind: 'const' | 'volatile' | 'restrict', type: number): number {
    return this.add({ kind, name: '', type });
  }

  /** An array of nelems elements (the index type is a u32 int, as clang emits). */
  array(type: number, nelems: number): number {
    const index = this.int('__ARRAY_SIZE_TYPE__', 4);
    return this.add({ kind: 'array', name: '', type, indexType: index, nelems });
  }

  /** An enum of `size` bytes; signed when any value is negative. 64-bit values make an enum64. */
  enum(name: string, values: Record<string, number | bigint>, size = 4): number {
    const entries = Object.entries(values);
    const signed = entries.some(([, v]) => v < 0);
    if (size === 8 || entries.some(([, v]) => typeof v === 'bigint'))
      return this.add({ kind: 'enum64', name, size, signed, values: entries.map(([n, v]) => ({ name: n, value: BigInt(v) })) });
    return this.add({ kind: 'enum', name, size, signed, values: entries.map(([n, v]) => ({ name: n, value: Number(v) })) });
  }

  /** A struct ("" for an anonymous one); members are laid out as C lays them out unless given offsets. */
  struct(name: string, members: readonly MemberSpec[], opts: { size?: number } = {}): number {
    return this.composite('struct', name, members, opts.size);
  }

  /** A union ("" for an anonymous one); every member at offset 0. */
  union(name: string, members: readonly MemberSpec[], opts: { size?: number } = {}): number {
    return this.composite('union', name, members, opts.size);
  }

  /**
   * A global-data section (DATASEC) as clang emits one for .bss, .data or .rodata: a VAR per
   * variable (global linkage), each at the next offset its alignment allows; the section ends
   * with the last variable, as an ELF section does. Returns the section's id.
   */
  datasec(name: string, vars: readonly { name: string; type: number; offset?: number }[]): number {
    const view = new Btf(this.types);
    let end = 0;
    const secinfo = vars.map((v) => {
      const size = view.sizeOf(v.type);
      const a = view.alignOf(v.type);
      const offset = v.offset ?? Math.ceil(end / a) * a;
      end = Math.max(end, offset + size);
      return { type: this.add({ kind: 'var', name: v.name, type: v.type, linkage: 1 }), offset, size };
    });
    return this.add({ kind: 'datasec', name, size: end, vars: secinfo });
  }

  /** struct bpf_spin_lock { __u32 val; }: what BPF_F_LOCK needs in a map value. */
  spinLock(): number {
    const hit = this.named.get('struct bpf_spin_lock');
    if (hit !== undefined) return hit;
    const id = this.struct('bpf_spin_lock', [{ name: 'val', type: this.int('unsigned int', 4) }]);
    this.named.set('struct bpf_spin_lock', id);
    return id;
  }

  /**
   * Copies a type of another Btf (e.g. the kernel's vmlinux) with everything it holds by value;
   * pointers to structs and unions become pointers to forward declarations, so the copy stays
   * small. Returns the id of the copy here.
   */
  import(from: Btf, id: number): number {
    return this.copy(from, id, new Map<number, number>());
  }

  /** The types so far, validated and ready to query (sizes, names). */
  btf(): Btf {
    return new Btf(this.types);
  }

  /** The BTF blob; validated first, so a builder mistake is a BtfError here, not an EINVAL later. */
  build(): Buffer {
    this.btf();
    return encodeBtf(this.types);
  }

  private copy(from: Btf, id: number, done: Map<number, number>): number {
    if (id === 0) return 0;
    const hit = done.get(id);
    if (hit !== undefined) return hit;
    const t = from.type(id) as BtfType;
    const ref = (r: number): number => this.copy(from, r, done);
    switch (t.kind) {
      case 'ptr': {
        const target = from.type(from.resolve(t.type));
        if (target.kind === 'struct' || target.kind === 'union' || target.kind === 'fwd') {
          const union = target.kind === 'union' || (target.kind === 'fwd' && target.union);
          const fwd = this.add({ kind: 'fwd', name: target.name, union });
          return this.remember(done, id, { kind: 'ptr', name: '', type: fwd });
        }
        return this.remember(done, id, { ...t, type: ref(t.type) });
      }
      case 'array':
        return this.remember(done, id, { ...t, type: ref(t.type), indexType: ref(t.indexType) });
      case 'struct':
      case 'union': {
        // Reserve the id first: members may point back at this struct.
        const self = this.add({ ...t, members: [] });
        done.set(id, self);
        const members = t.members.map((m) => ({ ...m, type: ref(m.type) }));
        this.types[self - 1] = { ...t, members };
        return self;
      }
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'var':
        return this.remember(done, id, { ...t, type: ref(t.type) });
      case 'datasec':
        return this.remember(done, id, { ...t, vars: t.vars.map((v) => ({ ...v, type: ref(v.type) })) });
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
      case 'fwd':
        return this.remember(done, id, { ...t });
      default:
        throw new BtfError(`cannot import ${from.describe(id)}: only data types can be copied`, id);
    }
  }

  private remember(done: Map<number, number>, from: number, t: BtfType): number {
    const id = this.add(t);
    done.set(from, id);
    return id;
  }

  private composite(kind: 'struct' | 'union', name: string, members: readonly MemberSpec[], size?: number): number {
    const view = new Btf(this.types);
    let end = 0;
    let align = 1;
    const out = members.map((m) => {
      const s = view.sizeOf(m.type);
      const a = view.alignOf(m.type);
      align = Math.max(align, a);
      if (m.bits !== undefined) {
        if (m.bitOffset === undefined) throw new BtfError(`${kind} ${name}: bitfield member "${m.name}" needs bitOffset`);
        end = Math.max(end, Math.ceil((m.bitOffset + m.bits) / 8));
        return { name: m.name, type: m.type, bitOffset: m.bitOffset, bitSize: m.bits };
      }
      const off = m.offset ?? (kind === 'union' ? 0 : Math.ceil(end / a) * a);
      end = Math.max(end, off + s);
      return { name: m.name, type: m.type, bitOffset: off * 8, bitSize: 0 };
    });
    const total = size ?? Math.ceil(end / align) * align;
    return this.add({ kind, name, size: total, bitfields: out.some((m) => m.bitSize > 0), members: out });
  }
}
