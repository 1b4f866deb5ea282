// Display decoders: BTF-typed values shown as people read them (addresses, ports, text, names),
// and read back from that form, so what a dump shows is what a load accepts.
import { CodecError, show } from '../codec/codec.js';
import { ipv4, ipv6 } from '../codec/ip.js';
import type { Btf } from './btf.js';
import { codecFromBtf, type BtfCodec, type BtfCodecOptions, type BtfValue } from './codec.js';
import { BtfError } from './error.js';
import { MODIFIERS, type BtfRef } from './types.js';

/** The display decoders by name; `integer` shows the field as its BTF codec does (it turns a default off). */
export const DISPLAY_DECODERS = ['ipv4', 'ipv6', 'port', 'hex', 'string', 'integer'] as const;

/** A display decoder by name (see DISPLAY_DECODERS). */
export type DisplayName = (typeof DISPLAY_DECODERS)[number];

/** A display decoder: by name, or a static map from integer values to names (as an enum's). */
export type DisplayDecoder = DisplayName | { readonly values: Readonly<Record<string, string>> };

/** Options of displayCodec. */
export interface DisplayOptions extends BtfCodecOptions {
  /** Decoders by field path ("saddr", "inner.addr"; "" is the whole value); they replace the defaults. */
  fields?: Readonly<Record<string, DisplayDecoder>>;
  /** Apply defaultDisplays (true by default). */
  defaults?: boolean;
}

/** Where a field path lands in a type. */
export interface FieldAt {
  /** Byte offset in the value. */
  offset: number;
  size: number;
  /** The member's type id. */
  type: number;
}

/** Finds a member by name, looking inside anonymous structs and unions as C (and the codecs) do. */
function member(btf: Btf, id: number, name: string): { type: number; bitOffset: number; bitSize: number } | undefined {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  for (const m of t.members) {
    if (m.name === name) return m;
    if (m.name === '') {
      const inner = member(btf, m.type, name);
      if (inner) return { ...inner, bitOffset: m.bitOffset + inner.bitOffset };
    }
  }
  return undefined;
}

/** The names a path may use at this type, for messages. */
function memberNames(btf: Btf, id: number): string[] {
  const t = btf.type(btf.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return [];
  return t.members.flatMap((m) => (m.name === '' ? memberNames(btf, m.type) : [m.name]));
}

/** Resolves a dotted member path ("" is the type itself); a string says why it does not resolve. */
export function fieldAt(btf: Btf, typeId: number, path: string): FieldAt | string {
  let id = typeId;
  let bits = 0;
  if (path !== '') {
    for (const name of path.split('.')) {
      const m = member(btf, id, name);
      if (!m) {
        const names = memberNames(btf, id);
        return names.length > 0
          ? `${btf.describe(id)} has no field "${name}" (fields: ${names.join(', ')})`
          : `"${path}": ${btf.describe(id)} has no fields`;
      }
      if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) return `"${path}" is a bitfield: no decoder reads it`;
      bits += m.bitOffset;
      id = m.type;
    }
  }
  return { offset: bits / 8, size: btf.sizeOf(id), type: id };
}

/** Whether a typedef of this name is on the way from id to its layout. */
function hasTypedef(btf: Btf, id: number, names: ReadonlySet<string>): boolean {
  for (let cur = id, depth = 0; depth < 64; depth++) {
    const t = btf.type(cur);
    if (t.kind === 'typedef' && names.has(t.name)) return true;
    if (!MODIFIERS.has(t.kind)) return false;
    cur = (t as BtfRef).type;
  }
  return false;
}

const BE32 = new Set(['__be32']);
const BE16 = new Set(['__be16']);

/** 16 bytes that hold an IPv6 address: struct in6_addr, or an array of 16 bytes or 4 __be32 words. */
function isIpv6(btf: Btf, id: number): boolean {
  const t = btf.type(btf.resolve(id));
  if (t.kind === 'struct' && t.name === 'in6_addr') return true;
  if (t.kind !== 'array' || btf.sizeOf(id) !== 16) return false;
  const e = btf.type(btf.resolve(t.type));
  return (e.kind === 'int' && e.size === 1 && t.nelems === 16) || (t.nelems === 4 && hasTypedef(btf, t.type, BE32));
}

/**
 * The decoders the types make unambiguous, by field path: a __be32 named *addr or *ip as IPv4,
 * struct in6_addr (or 16 bytes / 4 __be32 named *addr*) as IPv6, a __be16 named *port as a port.
 * Enums (by name) and char[N] (as text) need none: the BTF codec already shows them so.
 */
export function defaultDisplays(btf: Btf, typeId: number): Map<string, DisplayName> {
  const out = new Map<string, DisplayName>();
  const walk = (id: number, prefix: string, depth: number): void => {
    const t = btf.type(btf.resolve(id));
    if ((t.kind !== 'struct' && t.kind !== 'union') || depth > 16) return;
    for (const m of t.members) {
      if (m.name === '') {
        walk(m.type, prefix, depth + 1);
        continue;
      }
      if (m.bitSize !== 0 || m.bitOffset % 8 !== 0) continue;
      const path = prefix + m.name;
      const name = m.name.toLowerCase();
      if (btf.type(btf.resolve(m.type)).kind === 'struct' && btf.type(btf.resolve(m.type)).name === 'in6_addr') out.set(path, 'ipv6');
      else if (/(addr|ip)$/.test(name) && hasTypedef(btf, m.type, BE32)) out.set(path, 'ipv4');
      else if (name.includes('addr') && isIpv6(btf, m.type)) out.set(path, 'ipv6');
      else if (name.endsWith('port') && hasTypedef(btf, m.type, BE16)) out.set(path, 'port');
      else walk(m.type, `${path}.`, depth + 1);
    }
  };
  walk(typeId, '', 0);
  return out;
}

/** What parse makes of a shown value: bytes to write, a value for the BTF codec, or nothing of its own. */
type Parsed = Buffer | { value: BtfValue } | undefined;

interface Display {
  show(buf: Buffer, off: number, decoded: BtfValue): BtfValue;
  parse(v: BtfValue, path: string): Parsed;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function display(d: DisplayDecoder, at: FieldAt, btf: Btf, path: string): Display | undefined {
  const where = path === '' ? 'the value' : `"${path}"`;
  const need = (n: number, what: string): void => {
    if (at.size !== n) throw new BtfError(`the ${what} decoder reads ${n} bytes, ${where} (${btf.describe(at.type)}) has ${at.size}`);
  };
  if (typeof d === 'object') {
    const k = btf.type(btf.resolve(at.type)).kind;
    if (k !== 'int' && k !== 'enum' && k !== 'enum64')
      throw new BtfError(`a value map names integers, ${where} is ${btf.describe(at.type)}`);
    const byNumber = new Map(Object.entries(d.values));
    const byName = new Map([...byNumber].map(([n, name]) => [name, n]));
    return {
      // A number without a name stays the number: a new value is never lost.
      show: (_b, _o, v) => (typeof v === 'number' || typeof v === 'bigint' ? (byNumber.get(String(v)) ?? v) : v),
      parse: (v) => {
        const n = typeof v === 'string' ? byName.get(v) : undefined;
        return n === undefined ? undefined : { value: BigInt(n) };
      },
    };
  }
  switch (d) {
    case 'integer':
      return undefined;
    case 'ipv4':
      need(4, 'ipv4');
      return {
        show: (b, o) => ipv4.decode(b, o),
        parse: (v) => {
          if (typeof v !== 'string') return undefined;
          const out = Buffer.alloc(4);
          ipv4.encode(v, out, 0);
          return out;
        },
      };
    case 'ipv6':
      need(16, 'ipv6');
      return {
        show: (b, o) => ipv6.decode(b, o),
        parse: (v) => {
          if (typeof v !== 'string') return undefined;
          const out = Buffer.alloc(16);
          ipv6.encode(v, out, 0);
          return out;
        },
      };
    case 'port':
      need(2, 'port');
      return {
        show: (b, o) => b.readUInt16BE(o),
        parse: (v, p) => {
          const n = typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff)
            throw new CodecError(p || 'port', `expected a port 0..65535, got ${show(v)}`);
          const out = Buffer.alloc(2);
          out.writeUInt16BE(n, 0);
          return out;
        },
      };
    case 'hex':
      return {
        show: (b, o) => b.toString('hex', o, o + at.size),
        parse: (v, p) => {
          if (typeof v !== 'string') return undefined;
          if (!/^(?:[0-9a-fA-F]{2})*$/.test(v) || v.length > at.size * 2)
            throw new CodecError(p || 'hex', `expected at most ${at.size} bytes as hex, got ${show(v)}`);
          return Buffer.from(v, 'hex');
        },
      };
    case 'string':
      return {
        show: (b, o) => {
          const end = b.indexOf(0, o);
          return b.toString('utf8', o, end < 0 || end > o + at.size ? o + at.size : end);
        },
        parse: (v, p) => {
          if (typeof v !== 'string') return undefined;
          const bytes = Buffer.from(v, 'utf8');
          if (bytes.length > at.size)
            throw new CodecError(p || 'string', `${show(v)} is ${bytes.length} bytes, more than the ${at.size} the field holds`);
          return bytes;
        },
      };
  }
}

interface Decorated {
  path: string[];
  name: string;
  offset: number;
  d: Display;
}

type Obj = { [k: string]: BtfValue };

function isObj(v: BtfValue | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/**
 * A codec for a BTF type whose fields show through display decoders: defaultDisplays unless
 * turned off, then opts.fields. It decodes to the shown form (strings for addresses, numbers for
 * ports) and encodes from it, or from what the plain BTF codec takes, so both load.
 */
export function displayCodec(btf: Btf, typeId: number, opts: DisplayOptions = {}): BtfCodec {
  const base = codecFromBtf(btf, typeId, opts);
  const chosen = new Map<string, DisplayDecoder>(opts.defaults === false ? [] : defaultDisplays(btf, typeId));
  for (const [path, d] of Object.entries(opts.fields ?? {})) chosen.set(path, d);
  const list: Decorated[] = [];
  for (const [path, d] of chosen) {
    const at = fieldAt(btf, typeId, path);
    if (typeof at === 'string') throw new BtfError(at);
    const disp = display(d, at, btf, path);
    if (disp) list.push({ path: path === '' ? [] : path.split('.'), name: path, offset: at.offset, d: disp });
  }
  if (list.length === 0) return base;
  const get = (v: BtfValue, path: string[]): BtfValue | undefined => {
    let cur: BtfValue | undefined = v;
    for (const k of path) cur = isObj(cur) ? cur[k] : undefined;
    return cur;
  };
  const scratch = Buffer.alloc(base.size);
  // Not a spread of base: its add (if any) sums the plain form, not the shown one.
  const codec: BtfCodec = {
    typeId: base.typeId,
    size: base.size,
    name: base.name,
    ...(base.align === undefined ? {} : { align: base.align }),
    ...(base.toJSON === undefined ? {} : { toJSON: base.toJSON }),
    decode(buf, offset) {
      let v = base.decode(buf, offset);
      for (const f of list) {
        if (f.path.length === 0) {
          v = f.d.show(buf, offset, v);
          continue;
        }
        const parent = get(v, f.path.slice(0, -1));
        const last = f.path[f.path.length - 1] as string;
        if (isObj(parent)) parent[last] = f.d.show(buf, offset + f.offset, parent[last] as BtfValue);
      }
      return v;
    },
    encode(value, buf, offset) {
      const writes: [number, Buffer][] = [];
      let rest: BtfValue | undefined = value;
      for (const f of list) {
        const cur = rest === undefined ? undefined : get(rest, f.path);
        if (cur === undefined) continue;
        const p = f.d.parse(cur, f.name);
        if (p === undefined) continue;
        // Copy the objects on the path, so the caller's value is left as it was.
        const replace = (o: BtfValue, i: number): BtfValue | undefined => {
          if (i === f.path.length) return Buffer.isBuffer(p) ? undefined : p.value;
          if (!isObj(o)) return o;
          const k = f.path[i] as string;
          const copy: Obj = { ...o };
          const inner = replace(o[k] as BtfValue, i + 1);
          if (inner === undefined) delete copy[k];
          else copy[k] = inner;
          return copy;
        };
        rest = replace(rest as BtfValue, 0);
        if (Buffer.isBuffer(p)) writes.push([f.offset, p]);
      }
      if (rest === undefined) buf.fill(0, offset, offset + base.size);
      else base.encode(rest, buf, offset);
      // base.encode zero-filled the fields left out; shorter text or hex stays NUL-padded.
      for (const [at, bytes] of writes) bytes.copy(buf, offset + at);
    },
    fromJSON(json) {
      codec.encode(json as BtfValue, scratch, 0);
      return codec.decode(scratch, 0);
    },
  };
  return codec;
}
