import { Btf } from './btf.js';
import { BtfError } from './error.js';
import {
  BTF_HEADER_SIZE,
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_MAGIC,
  BTF_VERSION,
  KIND_NAMES,
  type BtfMember,
  type BtfType,
} from './types.js';

/** The kernel's cap on type ids (BTF_MAX_TYPE). */
const MAX_TYPES = 0xfffff;
/** btf_type.info bits that carry something: vlen (0-15), kind (24-28), kind_flag (31). */
const INFO_MASK = 0x9f00ffff;

/** struct btf_header. */
export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

export function parseHeader(buf: Uint8Array): BtfHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < BTF_HEADER_SIZE) throw new BtfError(`BTF of ${b.length} bytes is shorter than its ${BTF_HEADER_SIZE}-byte header`);
  const magic = b.readUInt16LE(0);
  if (magic !== BTF_MAGIC) {
    if (magic === 0x9feb) throw new BtfError('big-endian BTF is not supported');
    throw new BtfError(`bad BTF magic 0x${magic.toString(16)} (0xeb9f expected)`);
  }
  const h: BtfHeader = {
    magic,
    version: b.readUInt8(2),
    flags: b.readUInt8(3),
    hdrLen: b.readUInt32LE(4),
    typeOff: b.readUInt32LE(8),
    typeLen: b.readUInt32LE(12),
    strOff: b.readUInt32LE(16),
    strLen: b.readUInt32LE(20),
  };
  if (h.version !== BTF_VERSION) throw new BtfError(`BTF version ${h.version} is not supported (1 expected)`);
  if (h.flags !== 0) throw new BtfError(`BTF header flags 0x${h.flags.toString(16)} are not supported`);
  if (h.hdrLen < BTF_HEADER_SIZE || h.hdrLen > b.length) throw new BtfError(`BTF header length ${h.hdrLen} is outside the ${b.length}-byte blob`);
  // A longer header is a newer format: readable only when what this parser does not know is zero.
  for (let i = BTF_HEADER_SIZE; i < h.hdrLen; i++)
    if (b[i] !== 0) throw new BtfError(`BTF header of ${h.hdrLen} bytes has unknown fields set (byte ${i})`);
  const data = b.length - h.hdrLen;
  if (h.typeOff % 4 !== 0) throw new BtfError(`type section offset ${h.typeOff} is not 4-byte aligned`);
  if (h.typeLen % 4 !== 0) throw new BtfError(`type section length ${h.typeLen} is not a multiple of 4`);
  if (h.typeOff + h.typeLen > data) throw new BtfError(`type section (${h.typeOff}+${h.typeLen}) runs past the ${data} data bytes`);
  if (h.strOff + h.strLen > data) throw new BtfError(`string section (${h.strOff}+${h.strLen}) runs past the ${data} data bytes`);
  if (h.strOff < h.typeOff + h.typeLen && h.typeOff < h.strOff + h.strLen)
    throw new BtfError('the type and string sections overlap');
  if (h.strLen === 0 || b[h.hdrLen + h.strOff] !== 0) throw new BtfError('the string section must start with an empty string');
  if (b[h.hdrLen + h.strOff + h.strLen - 1] !== 0) throw new BtfError('the string section does not end with a NUL byte');
  return h;
}

/** Reads NUL-terminated strings of a string section, each decoded once. */
class Strings {
  private readonly cache = new Map<number, string>();
  constructor(private readonly b: Buffer, private readonly start: number, private readonly len: number) {}

  at(off: number, id: number): string {
    if (off === 0) return '';
    const hit = this.cache.get(off);
    if (hit !== undefined) return hit;
    if (off >= this.len) throw new BtfError(`name offset ${off} is past the ${this.len}-byte string section`, id);
    const from = this.start + off;
    // The section ends with a NUL (checked in parseHeader), so the search always stops inside it.
    const s = this.b.toString('utf8', from, this.b.indexOf(0, from));
    this.cache.set(off, s);
    return s;
  }
}

/**
 * Parses a BTF blob (header, type section, string section) into a validated Btf. Anything
 * malformed, truncated, out of range or cyclic is a BtfError.
 */
export function parseBtf(buf: Uint8Array, opts: { pointerSize?: number } = {}): Btf {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = parseHeader(b);
  const strs = new Strings(b, h.hdrLen + h.strOff, h.strLen);
  const types: BtfType[] = [];
  let pos = h.hdrLen + h.typeOff;
  const end = pos + h.typeLen;
  while (pos < end) {
    const id = types.length + 1;
    if (id > MAX_TYPES) throw new BtfError(`more than ${MAX_TYPES} types`);
    if (pos + 12 > end) throw new BtfError('truncated type header at the end of the type section', id);
    const nameOff = b.readUInt32LE(pos);
    const info = b.readUInt32LE(pos + 4);
    const sizeOrType = b.readUInt32LE(pos + 8);
    pos += 12;
    if ((info & ~INFO_MASK) !== 0) throw new BtfError(`btf_type.info 0x${(info >>> 0).toString(16)} has unused bits set`, id);
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    const kind = KIND_NAMES[kindNum];
    if (kind === undefined || kind === 'unknown') throw new BtfError(`unknown kind ${kindNum}`, id);
    const name = strs.at(nameOff, id);
    const need = (bytes: number): void => {
      if (pos + bytes > end) throw new BtfError(`${kind} with ${vlen} entries runs past the end of the type section`, id);
    };
    const noVlen = (): void => {
      if (vlen !== 0) throw new BtfError(`${kind} with vlen ${vlen} (0 expected)`, id);
    };
    const noFlag = (): void => {
      if (kflag) throw new BtfError(`${kind} with kind_flag set`, id);
    };
    switch (kind) {
      case 'int': {
        noVlen();
        noFlag();
        need(4);
        const enc = b.readUInt32LE(pos);
        pos += 4;
        if ((enc & 0xf000ff00) !== 0) throw new BtfError(`int encoding 0x${enc.toString(16)} has unused bits set`, id);
        const e = (enc >>> 24) & 0x0f;
        if (e & ~(BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL) || (e & BTF_INT_SIGNED && e & BTF_INT_BOOL) || (e & BTF_INT_CHAR && e & BTF_INT_BOOL))
          throw new BtfError(`int encoding ${e} is not one of signed, char, bool`, id);
        types.push({
          kind, name, size: sizeOrType,
          signed: (e & BTF_INT_SIGNED) !== 0, char: (e & BTF_INT_CHAR) !== 0, bool: (e & BTF_INT_BOOL) !== 0,
          bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff,
        });
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        noVlen();
        noFlag();
        types.push({ kind, name, type: sizeOrType });
        break;
      case 'array': {
        noVlen();
        noFlag();
        need(12);
        types.push({ kind, name, type: b.readUInt32LE(pos), indexType: b.readUInt32LE(pos + 4), nelems: b.readUInt32LE(pos + 8) });
        pos += 12;
        break;
      }
      case 'struct':
      case 'union': {
        need(vlen * 12);
        const members = new Array<BtfMember>(vlen);
        for (let i = 0; i < vlen; i++, pos += 12) {
          const off = b.readUInt32LE(pos + 8);
          members[i] = {
            name: strs.at(b.readUInt32LE(pos), id),
            type: b.readUInt32LE(pos + 4),
            bitOffset: kflag ? off & 0xffffff : off,
            bitSize: kflag ? off >>> 24 : 0,
          };
        }
        types.push({ kind, name, size: sizeOrType, bitfields: kflag, members });
        break;
      }
      case 'enum': {
        need(vlen * 8);
        const values = new Array<{ name: string; value: number }>(vlen);
        for (let i = 0; i < vlen; i++, pos += 8)
          values[i] = { name: strs.at(b.readUInt32LE(pos), id), value: kflag ? b.readInt32LE(pos + 4) : b.readUInt32LE(pos + 4) };
        types.push({ kind, name, size: sizeOrType, signed: kflag, values });
        break;
      }
      case 'enum64': {
        need(vlen * 12);
        const values = new Array<{ name: string; value: bigint }>(vlen);
        for (let i = 0; i < vlen; i++, pos += 12) {
          const v = (BigInt(b.readUInt32LE(pos + 8)) << 32n) | BigInt(b.readUInt32LE(pos + 4));
          values[i] = { name: strs.at(b.readUInt32LE(pos), id), value: kflag ? BigInt.asIntN(64, v) : v };
        }
        types.push({ kind, name, size: sizeOrType, signed: kflag, values });
        break;
      }
      case 'fwd':
        noVlen();
        if (sizeOrType !== 0) throw new BtfError(`fwd ${name} with size/type ${sizeOrType} (0 expected)`, id);
        types.push({ kind, name, union: kflag });
        break;
      case 'func':
        noFlag();
        types.push({ kind, name, type: sizeOrType, linkage: vlen });
        break;
      case 'func_proto': {
        noFlag();
        need(vlen * 8);
        const params = new Array<{ name: string; type: number }>(vlen);
        for (let i = 0; i < vlen; i++, pos += 8) params[i] = { name: strs.at(b.readUInt32LE(pos), id), type: b.readUInt32LE(pos + 4) };
        types.push({ kind, name, returnType: sizeOrType, params });
        break;
      }
      case 'var':
        noVlen();
        noFlag();
        need(4);
        types.push({ kind, name, type: sizeOrType, linkage: b.readUInt32LE(pos) });
        pos += 4;
        break;
      case 'datasec': {
        noFlag();
        need(vlen * 12);
        const vars = new Array<{ type: number; offset: number; size: number }>(vlen);
        for (let i = 0; i < vlen; i++, pos += 12)
          vars[i] = { type: b.readUInt32LE(pos), offset: b.readUInt32LE(pos + 4), size: b.readUInt32LE(pos + 8) };
        types.push({ kind, name, size: sizeOrType, vars });
        break;
      }
      case 'float':
        noVlen();
        noFlag();
        types.push({ kind, name, size: sizeOrType });
        break;
      case 'decl_tag':
        noVlen();
        need(4);
        types.push({ kind, name, type: sizeOrType, componentIdx: b.readInt32LE(pos), attribute: kflag });
        pos += 4;
        break;
      case 'type_tag':
        noVlen();
        types.push({ kind, name, type: sizeOrType, attribute: kflag });
        break;
    }
  }
  return new Btf(types, opts);
}
