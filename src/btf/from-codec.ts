import type { ArrayCodec } from '../codec/array.js';
import type { Codec } from '../codec/codec.js';
import { f32, f64 } from '../codec/float.js';
import { be16, be32, i16, i32, i64, i8, u16, u32, u64, u8 } from '../codec/int.js';
import { ipv4, ipv6 } from '../codec/ip.js';
import type { StructField } from '../codec/struct.js';
import type { BtfBuilder } from './encode.js';

/** C int types of the fixed-width codecs, named as compilers name them in BTF. */
const INTS = new Map<Codec<unknown>, [string, number, boolean]>([
  [u8, ['unsigned char', 1, false]],
  [i8, ['signed char', 1, true]],
  [u16, ['short unsigned int', 2, false]],
  [i16, ['short int', 2, true]],
  [u32, ['unsigned int', 4, false]],
  [i32, ['int', 4, true]],
  [u64, ['long long unsigned int', 8, false]],
  [i64, ['long long int', 8, true]],
]);

interface Composite extends Codec<unknown> {
  readonly fields: readonly StructField[];
}

function isComposite(c: Codec<unknown>): c is Composite {
  return Array.isArray((c as Partial<Composite>).fields);
}

function isArray(c: Codec<unknown>): c is ArrayCodec<unknown> {
  const a = c as Partial<ArrayCodec<unknown>>;
  return typeof a.elem === 'object' && a.elem !== null && typeof a.length === 'number';
}

/** A codec's tag and kind from its name ("struct flow", "union addr"); anonymous otherwise. */
function tagOf(c: Codec<unknown>): ['struct' | 'union', string] {
  const m = /^(struct|union) ([A-Za-z_][A-Za-z0-9_]*)$/.exec(c.name);
  if (m) return [m[1] as 'struct' | 'union', m[2] as string];
  return [c.name.startsWith('union') ? 'union' : 'struct', ''];
}

/**
 * Describes a codec as a BTF type in b and returns its id: ints and floats by their C names,
 * network-order ints as __be16/__be32, char[n] strings, arrays, structs and unions with their
 * offsets. Anything else (raw bytes, custom codecs) becomes unsigned char[size], which keeps
 * the layout exact even where the meaning is the codec's own.
 */
export function btfTypeOfCodec(b: BtfBuilder, codec: Codec<unknown>): number {
  const int = INTS.get(codec);
  if (int) return b.int(int[0], int[1], { signed: int[2] });
  if (codec === f32) return b.float('float', 4);
  if (codec === f64) return b.float('double', 8);
  if (codec === be16) return b.typedef('__be16', b.int('short unsigned int', 2));
  if (codec === be32 || codec === ipv4) return b.typedef('__be32', b.int('unsigned int', 4));
  if (codec === ipv6) return b.array(b.int('unsigned char', 1), 16);
  if (/^char\[\d+\]$/.test(codec.name)) return b.array(b.int('char', 1), codec.size);
  if (isArray(codec)) return b.array(btfTypeOfCodec(b, codec.elem), codec.length);
  if (isComposite(codec)) {
    const [kind, name] = tagOf(codec);
    const members = codec.fields.map((f) => ({ name: f.name, type: btfTypeOfCodec(b, f.codec), bitOffset: f.offset * 8, bitSize: 0 }));
    return b.add({ kind, name, size: codec.size, bitfields: false, members });
  }
  return b.array(b.int('unsigned char', 1), codec.size);
}
