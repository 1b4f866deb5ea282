import { BtfError } from './error.js';
import { MODIFIERS, type BtfType, type BtfVoid } from './types.js';

const VOID: BtfVoid = { kind: 'void', name: '' };

/** Deeper chains than this are refused (the kernel's own limit is 32 per resolution). */
const MAX_DEPTH = 1024;

const NOT_SIZED = -1;
const UNKNOWN = -2;

const TAGGED = /^(struct|union|enum|fwd|typedef|func|var|datasec) (.+)$/;

/**
 * A validated set of BTF types: every reference points at an existing type, nothing contains
 * itself, and every member, array element and variable has a size. Type id n is types[n];
 * id 0 is void.
 */
export class Btf {
  readonly types: readonly (BtfVoid | BtfType)[];
  /** Size of a pointer: BTF does not record it; 8 on the 64-bit targets bpf(2) runs on. */
  readonly pointerSize: number;
  private readonly sizes: Float64Array;
  private names: Map<string, number[]> | undefined;

  /** Takes types 1..n (id 0, void, is implicit) and validates them; throws BtfError. */
  constructor(types: readonly BtfType[], opts: { pointerSize?: number } = {}) {
    this.types = [VOID, ...types];
    this.pointerSize = opts.pointerSize ?? 8;
    this.sizes = new Float64Array(this.types.length).fill(UNKNOWN);
    this.validate();
  }

  get count(): number {
    return this.types.length;
  }

  /** The type with this id; a BtfError for an id that does not exist. */
  type(id: number): BtfVoid | BtfType {
    const t = this.types[id];
    if (t === undefined || !Number.isInteger(id)) throw new BtfError(`no type with id ${String(id)} (this BTF has ${this.types.length - 1})`);
    return t;
  }

  /** Skips typedefs, qualifiers and type tags: the id of the type that gives the layout. */
  resolve(id: number): number {
    let cur = id;
    for (let depth = 0; ; depth++) {
      const t = this.type(cur);
      if (!MODIFIERS.has(t.kind)) return cur;
      if (depth > MAX_DEPTH) throw new BtfError('typedef/qualifier chain loops or is too deep', id);
      cur = (t as { type: number }).type;
    }
  }

  /** Size in bytes of a type; a BtfError for types without one (void, fwd, func, func_proto). */
  sizeOf(id: number): number {
    const s = this.size(id, 0);
    if (s === NOT_SIZED) throw new BtfError(`${this.describe(id)} has no size`, id);
    return s;
  }

  /** Natural alignment of a sized type, as a C compiler for a 64-bit target lays it out. */
  alignOf(id: number): number {
    const t = this.type(this.resolve(id));
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(t.size, 8) || 1;
      case 'ptr':
        return this.pointerSize;
      case 'array':
        return this.alignOf(t.type);
      case 'struct':
      case 'union': {
        let a = 1;
        for (const m of t.members) a = Math.max(a, this.alignOf(m.type));
        return a;
      }
      default:
        throw new BtfError(`${this.describe(id)} has no alignment`, id);
    }
  }

  /**
   * The id of the first type with this name. `kind name` forms such as "struct iphdr" or
   * "typedef u32" pick a kind; a plain name matches any kind. Undefined when there is none.
   */
  find(name: string): number | undefined {
    return this.findAll(name)[0];
  }

  /** Every type with this name (see find), in id order. */
  findAll(name: string): number[] {
    this.names ??= this.indexNames();
    const m = TAGGED.exec(name);
    if (!m) return this.names.get(name) ?? [];
    const [, kind, bare] = m as unknown as [string, string, string];
    // "enum x" finds 64-bit enums too, as C spells both the same.
    return (this.names.get(bare) ?? []).filter((id) => {
      const k = this.types[id]?.kind;
      return k === kind || (kind === 'enum' && k === 'enum64');
    });
  }

  /** Like find, but a BtfError naming what was looked for when there is no such type. */
  get(name: string): number {
    const id = this.find(name);
    if (id === undefined) throw new BtfError(`no type named "${name}" in this BTF`);
    return id;
  }

  /** A C-like spelling of a type, for messages: "struct iphdr", "unsigned int", "char[16]", "u8 *". */
  describe(id: number, depth = 0): string {
    const t = this.types[id];
    if (t === undefined) return `type ${id}`;
    if (depth > 8) return '...';
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'struct':
      case 'union':
      case 'enum':
        return `${t.kind} ${t.name || '(anon)'}`;
      case 'enum64':
        return `enum ${t.name || '(anon)'}`;
      case 'fwd':
        return `${t.union ? 'union' : 'struct'} ${t.name}`;
      case 'ptr':
        return `${this.describe(t.type, depth + 1)} *`;
      case 'array':
        return `${this.describe(t.type, depth + 1)}[${t.nelems}]`;
      case 'volatile':
      case 'const':
      case 'restrict':
        return `${t.kind} ${this.describe(t.type, depth + 1)}`;
      case 'type_tag':
        return `${this.describe(t.type, depth + 1)} __tag(${t.name})`;
      case 'func_proto':
        return `${this.describe(t.returnType, depth + 1)} (*)(${t.params.map((p) => this.describe(p.type, depth + 1)).join(', ')})`;
      case 'decl_tag':
        return `decl_tag ${t.name}`;
      default:
        return t.name || `(anon ${t.kind})`;
    }
  }

  private indexNames(): Map<string, number[]> {
    const names = new Map<string, number[]>();
    for (let id = 1; id < this.types.length; id++) {
      const n = (this.types[id] as BtfType).name;
      if (n === '') continue;
      const list = names.get(n);
      if (list) list.push(id);
      else names.set(n, [id]);
    }
    return names;
  }

  /** Memoized size; NOT_SIZED for kinds without one. Cycles through values end in a BtfError. */
  private size(id: number, depth: number): number {
    const known = this.sizes[id];
    if (known === undefined) throw new BtfError(`reference to type ${id}, past the last type (${this.types.length - 1})`);
    if (known !== UNKNOWN) return known;
    if (depth > MAX_DEPTH) throw new BtfError('type references nest too deep or loop', id);
    const t = this.types[id] as BtfVoid | BtfType;
    let s: number;
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
      case 'struct':
      case 'union':
      case 'datasec':
        s = t.size;
        break;
      case 'ptr':
        s = this.pointerSize;
        break;
      case 'array': {
        const e = this.size(t.type, depth + 1);
        if (e === NOT_SIZED) throw new BtfError(`array of ${this.describe(t.type)}, which has no size`, id);
        s = e * t.nelems;
        if (s > 0xffffffff) throw new BtfError(`array of ${t.nelems} x ${e} bytes is larger than 4 GiB`, id);
        break;
      }
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'var':
        s = this.size(t.type, depth + 1);
        break;
      default:
        s = NOT_SIZED;
    }
    this.sizes[id] = s;
    return s;
  }

  private ref(from: number, id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.types.length)
      throw new BtfError(`${what} refers to type ${id}, past the last type (${this.types.length - 1})`, from);
  }

  private sized(from: number, id: number, what: string): number {
    this.ref(from, id, what);
    const s = this.size(id, 0);
    if (s === NOT_SIZED) throw new BtfError(`${what} is ${this.describe(id)}, which has no size`, from);
    return s;
  }

  /**
   * Checks references, then that no struct contains itself by value (pointers may loop, values
   * may not), with an explicit stack so hostile nesting cannot exhaust the JS stack.
   */
  private validate(): void {
    const n = this.types.length;
    for (let id = 1; id < n; id++) this.validateOne(id, this.types[id] as BtfType);
    // 0 unseen, 1 on the stack, 2 done.
    const state = new Uint8Array(n);
    const stack: number[] = [];
    const next: number[] = [];
    for (let root = 1; root < n; root++) {
      if (state[root] !== 0) continue;
      stack.push(root);
      next.push(0);
      state[root] = 1;
      while (stack.length > 0) {
        const id = stack[stack.length - 1] as number;
        const i = next[next.length - 1] as number;
        const child = this.valueChild(this.types[id] as BtfVoid | BtfType, i);
        if (child === undefined) {
          state[id] = 2;
          stack.pop();
          next.pop();
          continue;
        }
        next[next.length - 1] = i + 1;
        if (state[child] === 1) throw new BtfError(`contains itself by value (through type ${child})`, id);
        if (state[child] === 0) {
          state[child] = 1;
          stack.push(child);
          next.push(0);
        }
      }
    }
    for (let id = 1; id < n; id++) {
      this.size(id, 0);
      this.checkLayout(id, this.types[id] as BtfType);
    }
  }

  /** The i-th type that id holds by value (pointers and functions excluded), or undefined. */
  private valueChild(t: BtfVoid | BtfType, i: number): number | undefined {
    switch (t.kind) {
      case 'struct':
      case 'union':
        return t.members[i]?.type;
      case 'datasec':
        return t.vars[i]?.type;
      case 'array':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'var':
        return i === 0 ? t.type : undefined;
      default:
        return undefined;
    }
  }

  private validateOne(id: number, t: BtfType): void {
    switch (t.kind) {
      case 'int':
        // The kernel takes any size its bits fit in; only ints used as values need 1..16 bytes.
        if (t.bits > 128 || t.bitOffset + t.bits > t.size * 8)
          throw new BtfError(`int of ${t.bits} bits at bit ${t.bitOffset} does not fit its ${t.size} bytes`, id);
        break;
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        this.ref(id, t.type, t.kind);
        break;
      case 'array':
        this.ref(id, t.type, 'array element');
        this.ref(id, t.indexType, 'array index');
        break;
      case 'struct':
      case 'union':
        for (const m of t.members) this.ref(id, m.type, `member "${m.name}"`);
        break;
      case 'enum':
      case 'enum64':
        if (![1, 2, 4, 8].includes(t.size)) throw new BtfError(`enum of ${t.size} bytes`, id);
        break;
      case 'func': {
        this.ref(id, t.type, 'func');
        if (this.types[t.type]?.kind !== 'func_proto') throw new BtfError(`func ${t.name} is not of a func_proto`, id);
        break;
      }
      case 'func_proto':
        this.ref(id, t.returnType, 'return type');
        for (const p of t.params) this.ref(id, p.type, `parameter ${p.name || '(anon)'}`);
        break;
      case 'var':
        this.ref(id, t.type, `var ${t.name}`);
        break;
      case 'datasec':
        for (const v of t.vars) {
          this.ref(id, v.type, `datasec ${t.name} entry`);
          if (this.types[v.type]?.kind !== 'var') throw new BtfError(`datasec ${t.name} entry ${v.type} is not a var`, id);
          if (v.size === 0 || v.offset + v.size > t.size) throw new BtfError(`datasec ${t.name} entry of ${v.size} bytes at ${v.offset} does not fit its ${t.size} bytes`, id);
        }
        break;
      case 'float':
        if (![2, 4, 8, 12, 16].includes(t.size)) throw new BtfError(`float of ${t.size} bytes`, id);
        break;
      case 'decl_tag':
        this.ref(id, t.type, 'decl_tag');
        if (t.componentIdx < -1) throw new BtfError(`decl_tag component_idx ${t.componentIdx}`, id);
        break;
      case 'fwd':
        break;
    }
  }

  /** Sizes and extents, once references are known good and nothing contains itself. */
  private checkLayout(id: number, t: BtfVoid | BtfType): void {
    if (t.kind === 'datasec') {
      for (const v of t.vars)
        if (this.size(v.type, 0) > v.size) throw new BtfError(`datasec ${t.name}: var ${this.describe(v.type)} is larger than its ${v.size}-byte entry`, id);
    }
    if (t.kind === 'struct' || t.kind === 'union') {
      let last = 0;
      for (const m of t.members) {
        // Struct members come in offset order (the kernel refuses others); union members all start at 0.
        if (t.kind === 'struct' && m.bitOffset < last) throw new BtfError(`member "${m.name}" at bit ${m.bitOffset} comes before the previous member's bit ${last}`, id);
        last = m.bitOffset;
        const s = this.sized(id, m.type, `member "${m.name}"`);
        let end = m.bitOffset + s * 8;
        if (m.bitSize > 0) {
          const r = this.types[this.resolve(m.type)] as BtfType;
          if (r.kind !== 'int' && r.kind !== 'enum' && r.kind !== 'enum64')
            throw new BtfError(`bitfield member "${m.name}" is ${this.describe(m.type)}, not an int or enum`, id);
          if (m.bitSize > s * 8) throw new BtfError(`bitfield member "${m.name}" is wider than its ${s} bytes`, id);
          end = m.bitOffset + m.bitSize;
        } else {
          const r = this.types[this.resolve(m.type)] as BtfType;
          // Before kind_flag, bitfields were members of an int type narrower than its storage.
          if (r.kind === 'int') end = m.bitOffset + r.bitOffset + r.bits;
          else if (m.bitOffset % 8 !== 0) throw new BtfError(`member "${m.name}" is not byte-aligned and not a bitfield`, id);
        }
        if (end > t.size * 8)
          throw new BtfError(`member "${m.name}" ends at bit ${end}, past the ${t.size} bytes of ${this.describe(id)}`, id);
      }
    } else if (t.kind === 'var') {
      this.sized(id, t.type, `var ${t.name}`);
    }
  }
}
