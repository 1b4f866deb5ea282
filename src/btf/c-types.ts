// C declarations as people write them for map keys and values (`struct { __be32 saddr; __be16
// sport; }`), turned into BTF types: structs, unions, enums, arrays, bitfields, the C integer
// types and the kernel's __u8..__u64 / __s* / __be* typedefs. Not a C compiler: no expressions,
// no function types, no preprocessor.
import type { Btf } from './btf.js';
import type { BtfBuilder, MemberSpec } from './encode.js';
import { BtfError } from './error.js';

/** Finds a type this text names but does not define (`struct iphdr`, `u32` of a program's BTF). */
export type CTypeLookup = (name: string) => { btf: Btf; id: number } | undefined;

type Token = { text: string; at: number };

const PUNCT = /^(?:[{}[\];,:=*()]|-)/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const space = /^(?:\s+|\/\/[^\n]*|\/\*[^]*?\*\/)/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest) ?? /^(?:0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*/.exec(rest) ?? PUNCT.exec(rest);
    if (!m) throw new BtfError(`unexpected "${src[i]}" at column ${i + 1} of: ${src}`);
    out.push({ text: m[0], at: i });
    i += m[0].length;
  }
  return out;
}

/** Kernel and libc typedefs of integers: name -> [the typedef it names, or the C int it is]. */
const TYPEDEFS: Record<string, string> = {
  __u8: 'unsigned char',
  __s8: 'signed char',
  __u16: 'short unsigned int',
  __s16: 'short int',
  __u32: 'unsigned int',
  __s32: 'int',
  __u64: 'long long unsigned int',
  __s64: 'long long int',
  u8: '__u8',
  s8: '__s8',
  u16: '__u16',
  s16: '__s16',
  u32: '__u32',
  s32: '__s32',
  u64: '__u64',
  s64: '__s64',
  uint8_t: 'unsigned char',
  int8_t: 'signed char',
  uint16_t: 'short unsigned int',
  int16_t: 'short int',
  uint32_t: 'unsigned int',
  int32_t: 'int',
  uint64_t: 'long unsigned int',
  int64_t: 'long int',
  __be16: '__u16',
  __be32: '__u32',
  __be64: '__u64',
  __le16: '__u16',
  __le32: '__u32',
  __le64: '__u64',
  __sum16: '__u16',
  __wsum: '__u32',
  size_t: 'long unsigned int',
  bool: '_Bool',
};

/** The C integer types by the words that spell them (sorted), as compilers name them in BTF. */
const INTS: Record<string, [string, number, boolean]> = {
  char: ['char', 1, true],
  'char signed': ['signed char', 1, true],
  'char unsigned': ['unsigned char', 1, false],
  short: ['short int', 2, true],
  'int short': ['short int', 2, true],
  'short signed': ['short int', 2, true],
  'int short signed': ['short int', 2, true],
  'short unsigned': ['short unsigned int', 2, false],
  'int short unsigned': ['short unsigned int', 2, false],
  int: ['int', 4, true],
  signed: ['int', 4, true],
  'int signed': ['int', 4, true],
  unsigned: ['unsigned int', 4, false],
  'int unsigned': ['unsigned int', 4, false],
  long: ['long int', 8, true],
  'int long': ['long int', 8, true],
  'long signed': ['long int', 8, true],
  'int long signed': ['long int', 8, true],
  'long unsigned': ['long unsigned int', 8, false],
  'int long unsigned': ['long unsigned int', 8, false],
  'long long': ['long long int', 8, true],
  'int long long': ['long long int', 8, true],
  'long long signed': ['long long int', 8, true],
  'int long long signed': ['long long int', 8, true],
  'long long unsigned': ['long long unsigned int', 8, false],
  'int long long unsigned': ['long long unsigned int', 8, false],
};

const INT_WORDS = new Set(['char', 'short', 'int', 'long', 'signed', 'unsigned']);

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  /** struct/union/enum tags this text defined, and typedefs made. */
  private readonly tags = new Map<string, number>();
  private readonly made = new Map<string, number>();

  constructor(
    private readonly src: string,
    private readonly b: BtfBuilder,
    private readonly lookup: CTypeLookup | undefined,
  ) {
    this.tokens = tokenize(src);
  }

  private peek(): string | undefined {
    return this.tokens[this.pos]?.text;
  }

  private fail(what: string): never {
    const t = this.tokens[this.pos];
    throw new BtfError(`${what} ${t ? `at "${t.text}" (column ${t.at + 1})` : 'at the end'} of: ${this.src}`);
  }

  private next(): string {
    const t = this.tokens[this.pos++];
    if (!t) this.fail('unexpected end');
    return t.text;
  }

  private expect(s: string): void {
    if (this.peek() !== s) this.fail(`expected "${s}"`);
    this.pos++;
  }

  private ident(what: string): string {
    const t = this.peek();
    if (t === undefined || !/^[A-Za-z_]/.test(t)) this.fail(`expected ${what}`);
    this.pos++;
    return t;
  }

  private number(): number {
    const t = this.next();
    const n = Number(t.replace(/[uUlL]+$/, ''));
    if (!Number.isSafeInteger(n)) this.fail(`expected a number, got "${t}"`);
    return n;
  }

  /** The whole text: one type, optionally followed by array sizes (`__u64[4]`). */
  top(): number {
    let id = this.typeSpec();
    while (this.peek() === '*') {
      this.pos++;
      id = this.b.ptr(id);
    }
    id = this.arrays(id);
    if (this.peek() === ';') this.pos++;
    if (this.pos < this.tokens.length) this.fail('expected the end of the type');
    return id;
  }

  private arrays(id: number): number {
    const dims: number[] = [];
    while (this.peek() === '[') {
      this.pos++;
      dims.push(this.number());
      this.expect(']');
    }
    // int a[2][3] is an array of 2 arrays of 3.
    for (let i = dims.length - 1; i >= 0; i--) id = this.b.array(id, dims[i] as number);
    return id;
  }

  private intType(name: string, size: number, signed: boolean): number {
    if (name === '_Bool') return this.b.int('_Bool', 1, { bool: true });
    // BTF takes one encoding bit: plain char is known by its name (as codecs and bpftool know it).
    return this.b.int(name, size, { signed: signed && name !== 'char' });
  }

  private typedef(name: string): number {
    const hit = this.made.get(name);
    if (hit !== undefined) return hit;
    const target = TYPEDEFS[name] as string;
    const base = TYPEDEFS[target] !== undefined ? this.typedef(target) : this.named(target);
    const id = this.b.typedef(name, base);
    this.made.set(name, id);
    return id;
  }

  /** A C int by its canonical name ("unsigned int") or _Bool. */
  private named(name: string): number {
    if (name === '_Bool') return this.intType('_Bool', 1, false);
    const e = Object.values(INTS).find(([n]) => n === name) as [string, number, boolean];
    return this.intType(e[0], e[1], e[2]);
  }

  private typeSpec(): number {
    while (this.peek() === 'const' || this.peek() === 'volatile') this.pos++;
    const t = this.peek();
    if (t === undefined) this.fail('expected a type');
    if (t === 'struct' || t === 'union') {
      this.pos++;
      return this.composite(t);
    }
    if (t === 'enum') {
      this.pos++;
      return this.enumType();
    }
    if (INT_WORDS.has(t)) {
      const words: string[] = [];
      while (this.peek() !== undefined && INT_WORDS.has(this.peek() as string)) words.push(this.next());
      const e = INTS[words.slice().sort().join(' ')];
      if (!e) this.fail(`"${words.join(' ')}" is no C integer type`);
      return this.intType(e[0], e[1], e[2]);
    }
    this.pos++;
    if (t === '_Bool') return this.named('_Bool');
    if (t === 'float') return this.b.float('float', 4);
    if (t === 'double') return this.b.float('double', 8);
    if (TYPEDEFS[t] !== undefined) return this.typedef(t);
    const found = this.lookup?.(t);
    if (found) return this.b.import(found.btf, found.id);
    this.pos--;
    this.fail(`unknown type "${t}" (give a BTF to find it in, or spell it in C)`);
  }

  private enumType(): number {
    const name = this.peek() !== '{' ? this.ident('an enum name or "{"') : '';
    if (this.peek() !== '{') return this.reference('enum', name);
    this.pos++;
    const values: Record<string, number> = {};
    let next = 0;
    while (this.peek() !== '}') {
      const n = this.ident('an enumerator');
      if (this.peek() === '=') {
        this.pos++;
        const neg = this.peek() === '-';
        if (neg) this.pos++;
        next = (neg ? -1 : 1) * this.number();
      }
      values[n] = next++;
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') this.fail('expected "," or "}"');
    }
    this.pos++;
    const id = this.b.enum(name, values);
    if (name) this.tags.set(`enum ${name}`, id);
    return id;
  }

  /** `struct x` without a body: defined earlier in this text, or found by lookup. */
  private reference(kind: string, name: string): number {
    const local = this.tags.get(`${kind} ${name}`);
    if (local !== undefined) return local;
    const found = this.lookup?.(`${kind} ${name}`);
    if (found) return this.b.import(found.btf, found.id);
    this.pos--;
    this.fail(`unknown ${kind} ${name} (define it here, or give a BTF that has it)`);
  }

  private composite(kind: 'struct' | 'union'): number {
    const name = this.peek() !== '{' ? this.ident(`a ${kind} name or "{"`) : '';
    if (this.peek() !== '{') return this.reference(kind, name);
    this.pos++;
    const decls: { name: string; type: number; bits?: number }[] = [];
    while (this.peek() !== '}') {
      const base = this.typeSpec();
      if (this.peek() === ';') {
        // An anonymous struct or union member: its fields are the parent's, as in C.
        this.pos++;
        decls.push({ name: '', type: base });
        continue;
      }
      for (;;) {
        let type = base;
        while (this.peek() === '*') {
          this.pos++;
          type = this.b.ptr(type);
        }
        const member = this.ident('a member name');
        type = this.arrays(type);
        let bits: number | undefined;
        if (this.peek() === ':') {
          this.pos++;
          bits = this.number();
        }
        decls.push(bits === undefined ? { name: member, type } : { name: member, type, bits });
        if (this.peek() === ',') {
          this.pos++;
          continue;
        }
        this.expect(';');
        break;
      }
    }
    this.pos++;
    const id = layout(this.b, kind, name, decls);
    if (name) this.tags.set(`${kind} ${name}`, id);
    return id;
  }
}

/** C's layout for a 64-bit target (SysV): natural alignment; a bitfield starts a new unit of its type rather than straddle one. */
function layout(b: BtfBuilder, kind: 'struct' | 'union', name: string, decls: { name: string; type: number; bits?: number }[]): number {
  const view = b.btf();
  let bit = 0;
  let end = 0;
  let align = 1;
  const members: MemberSpec[] = [];
  for (const d of decls) {
    const size = view.sizeOf(d.type);
    const a = view.alignOf(d.type);
    if (d.bits !== undefined) {
      const t = view.type(view.resolve(d.type));
      if (t.kind !== 'int' && t.kind !== 'enum' && t.kind !== 'enum64')
        throw new BtfError(`${kind} ${name || '(anon)'}: bitfield "${d.name}" must be an integer`);
      if (d.bits > size * 8)
        throw new BtfError(`${kind} ${name || '(anon)'}: bitfield "${d.name}" is ${d.bits} bits, wider than its ${size}-byte type`);
      const unit = a * 8;
      if (kind === 'union') bit = 0;
      if (d.bits === 0) {
        bit = Math.ceil(bit / unit) * unit;
        continue;
      }
      if (Math.floor(bit / unit) !== Math.floor((bit + d.bits - 1) / unit)) bit = Math.ceil(bit / unit) * unit;
      members.push({ name: d.name, type: d.type, bits: d.bits, bitOffset: bit });
      bit += d.bits;
      align = Math.max(align, a);
      end = Math.max(end, Math.ceil(bit / 8));
      continue;
    }
    const off = kind === 'union' ? 0 : Math.ceil(Math.ceil(bit / 8) / a) * a;
    members.push({ name: d.name, type: d.type, offset: off });
    if (kind === 'struct') bit = (off + size) * 8;
    align = Math.max(align, a);
    end = Math.max(end, off + size);
  }
  return kind === 'struct'
    ? b.struct(name, members, { size: Math.ceil(end / align) * align })
    : b.union(name, members, { size: Math.ceil(end / align) * align });
}

/**
 * Adds the type a C declaration spells to b and returns its id: `struct { __be32 saddr; __be16
 * sport; }`, `__u64`, `char[16]`, `struct flow { ... }`, `union { ... }`, `enum { A, B = 4 }`,
 * members with arrays and bitfields. Names it neither defines nor knows (`struct iphdr`) come from
 * lookup. A BtfError says what is wrong and where.
 */
export function parseCType(text: string, b: BtfBuilder, lookup?: CTypeLookup): number {
  return new Parser(text, b, lookup).top();
}
