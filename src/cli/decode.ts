import { DISPLAY_DECODERS, displayCodec, fieldAt, type DisplayDecoder, type DisplayName } from '../btf/display.js';
import { BtfError } from '../btf/error.js';
import type { BtfCodec } from '../btf/codec.js';
import { btfFromId } from '../kernel/btf.js';
import { speaksBtfType } from '../map/btf.js';
import type { BpfMap } from '../map/map.js';
import { UsageError } from './errors.js';

export const DECODE_HELP =
  'show fields through decoders: PATH=DECODER,... with ipv4, ipv6, port, hex, string, integer (as the BTF says) or a value map ' +
  '{6:tcp,17:udp}; PATH is a (dotted) field of the key or value, "key."/"value." to choose. "none" turns the defaults off ' +
  "(__be32 *addr/*ip as ipv4, in6_addr or 16-byte *addr* as ipv6, __be16 *port as port). Needs the map's BTF";

/** --decode: per-field decoders, and whether the defaults apply. */
export interface DecodeSpec {
  defaults: boolean;
  fields: [string, DisplayDecoder][];
}

/** Splits on commas outside braces: value maps carry their own commas. */
function topLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function valueMap(text: string, field: string): DisplayDecoder {
  const values: Record<string, string> = {};
  for (const pair of text.slice(1, -1).split(',')) {
    const m = /^\s*(-?[0-9]+)\s*:\s*([^,:{}]+?)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--decode ${field}: a value map is {NUMBER:NAME,...}, got "${pair.trim()}" in ${text}`);
    values[m[1] as string] = m[2] as string;
  }
  return { values };
}

/** Parses --decode (repeatable, comma-separated): `saddr=ipv4,sport=port`, `none`, `proto={6:tcp,17:udp}`. */
export function parseDecode(given: readonly string[] | undefined): DecodeSpec {
  const spec: DecodeSpec = { defaults: true, fields: [] };
  for (const item of (given ?? []).flatMap(topLevel)) {
    if (item === 'none') {
      spec.defaults = false;
      continue;
    }
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--decode takes FIELD=DECODER (e.g. saddr=ipv4) or none, got "${item}"`);
    const field = item.slice(0, eq).trim();
    const name = item.slice(eq + 1).trim();
    if (name.startsWith('{') && name.endsWith('}')) spec.fields.push([field, valueMap(name, field)]);
    else if ((DISPLAY_DECODERS as readonly string[]).includes(name)) spec.fields.push([field, name as DisplayName]);
    else
      throw new UsageError(
        `--decode ${field}: unknown decoder "${name}" (decoders: ${DISPLAY_DECODERS.join(', ')}, or a value map {6:tcp,17:udp})`,
      );
  }
  return spec;
}

/** Collects repeated --decode options. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/**
 * The key and value codecs a command shows a map's entries through: its BTF with display
 * decoders. Undefined when the map has no BTF (or it cannot be read), unless --decode asked for fields.
 */
export function displayCodecs(
  map: BpfMap<unknown, unknown>,
  spec: DecodeSpec,
): { key: BtfCodec | undefined; value: BtfCodec | undefined } | undefined {
  const info = map.info();
  const keyTyped = (map.keyCodec as Partial<BtfCodec>).typeId !== undefined;
  const valueTyped = ((map.cpuCodec ?? map.valueCodec) as Partial<BtfCodec>).typeId !== undefined;
  if (info.btfId === 0 || (!keyTyped && !valueTyped)) {
    if (spec.fields.length > 0)
      throw new UsageError(
        `--decode names fields of the map's BTF, and map ${map.id} has ${info.btfId === 0 ? 'none' : 'none this process can read'}`,
      );
    return undefined;
  }
  const btf = btfFromId(info.btfId, map.kernel);
  const sides = { key: keyTyped ? info.btfKeyTypeId : 0, value: valueTyped ? info.btfValueTypeId : 0 };
  const fields = { key: {} as Record<string, DisplayDecoder>, value: {} as Record<string, DisplayDecoder> };
  for (const [path, d] of spec.fields) {
    const m = /^(key|value)(?:\.(.*))?$/.exec(path);
    if (m) {
      const side = m[1] as 'key' | 'value';
      const inner = m[2] ?? '';
      if (sides[side] === 0) throw new UsageError(`--decode ${path}: the map's ${side} has no BTF type`);
      const at = fieldAt(btf, sides[side], inner);
      // A field named key or value is meant as such when the side itself has no such path.
      if (typeof at !== 'string') {
        fields[side][inner] = d;
        continue;
      }
    }
    const found = (['key', 'value'] as const).filter((s) => sides[s] !== 0 && typeof fieldAt(btf, sides[s], path) !== 'string');
    if (found.length === 0) {
      const why = (['key', 'value'] as const).filter((s) => sides[s] !== 0).map((s) => `${s}: ${fieldAt(btf, sides[s], path) as string}`);
      throw new UsageError(`--decode ${path}: no such field (${why.join('; ')})`);
    }
    if (found.length === 2)
      throw new UsageError(`--decode ${path}: both the key and the value have this field; say key.${path} or value.${path}`);
    fields[found[0] as 'key' | 'value'][path] = d;
  }
  const make = (side: 'key' | 'value'): BtfCodec | undefined => {
    if (sides[side] === 0) return undefined;
    try {
      return speaksBtfType(displayCodec(btf, sides[side], { defaults: spec.defaults, fields: fields[side] }), btf, sides[side]);
    } catch (e) {
      if (e instanceof BtfError) throw new UsageError(`--decode: ${e.message}`);
      throw e;
    }
  };
  return { key: make('key'), value: make('value') };
}
