import { CodecError, fromJSONValue, toJSONValue, type Codec, type JsonValue } from '../codec/codec.js';
import { sumPerCpu } from '../codec/percpu.js';
import { missingBtfField } from '../map/btf.js';
import { internal } from '../map/internal.js';
import type { BpfMap } from '../map/map.js';
import { displayCodecs, type DecodeSpec } from './decode.js';
import { UsageError } from './errors.js';

/** How a per-CPU value is shown: the CPUs' values added up, or each CPU's value in a list. */
export type PerCpuMode = 'sum' | 'each';

/**
 * How one map's keys and values appear in dumps, and how load reads them back: JSON-ready
 * values for table and CSV, and the same as JSON text for the streaming JSON formats.
 */
export interface EntryView {
  /** The field an entry's value is under: `values` for a per-CPU list, else `value`. */
  readonly valueField: 'value' | 'values';
  key(buf: Buffer, off: number): unknown;
  value(buf: Buffer, off: number): unknown;
  keyText(buf: Buffer, off: number): string;
  valueText(buf: Buffer, off: number): string;
  /** Encodes a key as found in a dump into out at off; throws Error saying what is wrong. */
  parseKey(json: unknown, out: Buffer, off: number): void;
  /** Encodes a value as found in a dump under field (the whole syscall value, every CPU). */
  parseValue(json: unknown, field: 'value' | 'values', out: Buffer, off: number): void;
  /** Set when keyText and valueText are the plain hex of the bytes: writers may then format whole chunks at once. */
  readonly plainHex?: boolean;
}

const HEX = /^(?:0x)?((?:[0-9a-fA-F]{2})*)$/;

/**
 * Bytes from a hex string ("0a00ff", "0x0a00ff") or a list of bytes as bpftool prints them
 * (["0x0a", "0x00"]); a CodecError when they are not exactly size bytes.
 */
function hexBytes(json: unknown, size: number): Buffer {
  const refuse = (detail: string): CodecError => new CodecError('hex', detail);
  let b: Buffer;
  if (typeof json === 'string') {
    const m = HEX.exec(json.replace(/\s+/g, ''));
    if (!m) throw refuse(`"${json.length > 40 ? `${json.slice(0, 40)}...` : json}" is not hex bytes`);
    b = Buffer.from(m[1] as string, 'hex');
  } else if (Array.isArray(json)) {
    b = Buffer.alloc(json.length);
    json.forEach((x, i) => {
      const n = typeof x === 'number' ? x : typeof x === 'string' && /^(0x)?[0-9a-fA-F]{1,2}$/.test(x) ? parseInt(x, 16) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > 255) throw refuse(`byte ${i} (${JSON.stringify(x)}) is not a byte`);
      b[i] = n;
    });
  } else {
    throw refuse(`expected a hex string, got ${json === null ? 'null' : typeof json}`);
  }
  if (b.length !== size) throw refuse(`expected ${size} bytes, got ${b.length}`);
  return b;
}

/** Runs a parse of one side of an entry: a codec's refusal names the side, the field path and the map. */
function parsing(map: BpfMap<unknown, unknown>, side: 'key' | 'value', parse: () => void): void {
  try {
    parse();
  } catch (e) {
    throw map[internal].codecError(e, side);
  }
}

/** A CodecError for CPU c's value of a per-CPU "values" list: its path is [c]. */
function onCpu(c: number, parse: () => void): void {
  try {
    parse();
  } catch (e) {
    throw e instanceof CodecError ? e.within(`[${c}]`) : e;
  }
}

/** Lane-wise wrapping sum of per-CPU raw values: u64 lanes, or the widest that divides the size. */
function sumLanes(buf: Buffer, off: number, size: number, stride: number, cpus: number, out: Buffer): void {
  const lane = size % 8 === 0 ? 8 : size % 4 === 0 ? 4 : size % 2 === 0 ? 2 : 1;
  const mask = (1n << BigInt(lane * 8)) - 1n;
  for (let l = 0; l < size; l += lane) {
    let s = 0n;
    for (let c = 0; c < cpus; c++) s += readLane(buf, off + c * stride + l, lane);
    writeLane(out, l, lane, s & mask);
  }
}

function readLane(b: Buffer, at: number, lane: number): bigint {
  return lane === 8 ? b.readBigUInt64LE(at) : BigInt(b.readUIntLE(at, lane));
}

function writeLane(b: Buffer, at: number, lane: number, v: bigint): void {
  if (lane === 8) b.writeBigUInt64LE(v, at);
  else b.writeUIntLE(Number(v), at, lane);
}

/** Keys and values as hex: the view of maps without type information. */
export function hexView(map: BpfMap<unknown, unknown>, perCpu: PerCpuMode): EntryView {
  const { keySize, valueSize, cpus } = map;
  const stride = map.perCpu ? map.valueBytes / cpus : valueSize;
  const sum = Buffer.alloc(valueSize);
  const hexKey = (b: Buffer, o: number): string => b.toString('hex', o, o + keySize);
  let value: (b: Buffer, o: number) => string | string[];
  if (!map.perCpu) value = (b, o) => b.toString('hex', o, o + valueSize);
  else if (perCpu === 'each') value = (b, o) => Array.from({ length: cpus }, (_, c) => b.toString('hex', o + c * stride, o + c * stride + valueSize));
  else
    value = (b, o) => {
      sumLanes(b, o, valueSize, stride, cpus, sum);
      return sum.toString('hex');
    };
  const field = map.perCpu && perCpu === 'each' ? 'values' : 'value';
  return {
    valueField: field,
    plainHex: !map.perCpu,
    key: hexKey,
    value,
    keyText: (b, o) => `"${hexKey(b, o)}"`,
    valueText: map.perCpu && perCpu === 'each' ? (b, o) => JSON.stringify(value(b, o)) : (b, o) => `"${value(b, o) as string}"`,
    parseKey(json, out, off) {
      parsing(map, 'key', () => hexBytes(json, keySize).copy(out, off));
    },
    parseValue(json, f, out, off) {
      if (!map.perCpu) {
        if (f !== 'value') throw new Error(`"values" (one per CPU) is for per-CPU maps; this map is ${map.typeName}: use "value"`);
        parsing(map, 'value', () => hexBytes(json, valueSize).copy(out, off));
        return;
      }
      out.fill(0, off, off + map.valueBytes);
      if (f === 'value') {
        // A summed value is restored as CPU 0's value, so the sum over the CPUs stays the same.
        parsing(map, 'value', () => hexBytes(json, valueSize).copy(out, off));
        return;
      }
      if (!Array.isArray(json) || json.length !== cpus)
        throw new Error(`"values" must list ${cpus} values (one per possible CPU), got ${Array.isArray(json) ? json.length : typeof json}`);
      parsing(map, 'value', () => json.forEach((v, c) => onCpu(c, () => hexBytes(v, valueSize).copy(out, off + c * stride))));
    },
  };
}

const INTEGER = /^-?[0-9]+$/;

/**
 * The sum of two JSON values of the same type, for codecs without add (those from BTF): integers
 * (numbers, or decimal strings past 2^53) are added exactly, leaves that are not numbers (text,
 * addresses) are kept from the first.
 */
export function addJson(a: JsonValue, b: JsonValue): JsonValue {
  const int = (x: JsonValue): bigint | undefined =>
    typeof x === 'number' && Number.isSafeInteger(x) ? BigInt(x) : typeof x === 'string' && INTEGER.test(x) ? BigInt(x) : undefined;
  if (typeof a === 'number' && typeof b === 'number' && !(Number.isSafeInteger(a) && Number.isSafeInteger(b))) return a + b;
  const x = int(a);
  const y = int(b);
  if (x !== undefined && y !== undefined) {
    const sum = x + y;
    return sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum.toString();
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.map((v, i) => (i < b.length ? addJson(v, b[i] as JsonValue) : v));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b))
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, k in b ? addJson(v, b[k] as JsonValue) : v]));
  return a;
}

/**
 * Keys and values through codecs (a map's BTF): JSON as the codecs write it, read back with
 * their fromJSON. Per-CPU sums use the codec's exact add, or addJson.
 */
/**
 * A codec that refuses JSON leaving out a field of the map's BTF type (the BTF codec would write it
 * as 0): always for keys, where a zero is another key; for values unless zero-filling was asked.
 */
function complete(codec: Codec<unknown>, side: 'key' | 'value', zeroFill: boolean): (json: unknown) => unknown {
  if (side === 'value' && zeroFill) return (json) => fromJSONValue(codec, json);
  const why = side === 'key'
    ? 'a key must give every field: one left out would be written as 0, which is another key'
    : 'give every field, or --zero-fill-values to write the ones left out as 0';
  return (json) => {
    // The codec first: a field it does not know (a typo of the missing one, often) says more.
    const value = fromJSONValue(codec, json);
    const missing = missingBtfField(codec, json);
    if (missing !== undefined) throw new CodecError('missing', `missing field "${missing}" (${why})`);
    return value;
  };
}

/** How load reads entries: by default every field of a key and a value must be given. */
export interface ParseOptions {
  /** Write the value fields an entry leaves out as 0 (keys never: a zero there is another key). */
  zeroFillValues?: boolean;
}

export function codecView(map: BpfMap<unknown, unknown>, key: Codec<unknown>, value: Codec<unknown>, perCpu: PerCpuMode,
  opts: ParseOptions = {}): EntryView {
  const keyOf = complete(key, 'key', false);
  const valueOf = complete(value, 'value', opts.zeroFillValues === true);
  const { cpus } = map;
  const stride = map.perCpu ? map.valueBytes / cpus : map.valueBytes;
  const each = (b: Buffer, o: number): unknown[] => Array.from({ length: cpus }, (_, c) => value.decode(b, o + c * stride));
  let show: (b: Buffer, o: number) => unknown;
  if (!map.perCpu) show = (b, o) => toJSONValue(value, value.decode(b, o));
  else if (perCpu === 'each') show = (b, o) => each(b, o).map((v) => toJSONValue(value, v));
  else if (value.add !== undefined) show = (b, o) => toJSONValue(value, sumPerCpu(value, each(b, o)));
  else show = (b, o) => each(b, o).map((v) => toJSONValue(value, v)).reduce(addJson);
  const showKey = (b: Buffer, o: number): unknown => toJSONValue(key, key.decode(b, o));
  return {
    valueField: map.perCpu && perCpu === 'each' ? 'values' : 'value',
    key: showKey,
    value: show,
    keyText: (b, o) => JSON.stringify(showKey(b, o)),
    valueText: (b, o) => JSON.stringify(show(b, o)),
    parseKey(json, out, off) {
      parsing(map, 'key', () => key.encode(keyOf(json), out, off));
    },
    parseValue(json, f, out, off) {
      if (!map.perCpu) {
        if (f !== 'value') throw new Error(`"values" (one per CPU) is for per-CPU maps; this map is ${map.typeName}: use "value"`);
        parsing(map, 'value', () => value.encode(valueOf(json), out, off));
        return;
      }
      out.fill(0, off, off + map.valueBytes);
      if (f === 'value') {
        parsing(map, 'value', () => value.encode(valueOf(json), out, off));
        return;
      }
      if (!Array.isArray(json) || json.length !== cpus)
        throw new Error(`"values" must list ${cpus} values (one per possible CPU), got ${Array.isArray(json) ? json.length : typeof json}`);
      parsing(map, 'value', () => json.forEach((v, c) => onCpu(c, () => value.encode(valueOf(v), out, off + c * stride))));
    },
  };
}

/** --percpu, checked before any map is opened. */
export function perCpuModeOf(given: string | undefined, fallback: PerCpuMode): PerCpuMode {
  const mode = given ?? fallback;
  if (mode !== 'sum' && mode !== 'each') throw new UsageError(`--percpu must be "sum" or "each", got "${mode}"`);
  return mode;
}

/** Whether a codec is the raw bytes a map without (readable) BTF is opened with. */
function isBytes(codec: Codec<unknown>): boolean {
  return codec.name === `${codec.size} bytes`;
}

/**
 * The view a command shows map's entries in: through the codecs its BTF gave it (unless raw),
 * with display decoders (--decode and the defaults), else hex.
 */
export function viewOf(map: BpfMap<unknown, unknown>, perCpu: PerCpuMode, raw = false, decode: DecodeSpec = { defaults: true, fields: [] },
  opts: ParseOptions = {},
): EntryView {
  const value = map.cpuCodec ?? map.valueCodec;
  if (raw || (isBytes(map.keyCodec) && isBytes(value))) {
    if (raw && decode.fields.length > 0) throw new UsageError('--decode shows fields of the BTF types, --hex the bytes: give one of them');
    if (decode.fields.length > 0) displayCodecs(map, decode);
    return hexView(map, perCpu);
  }
  const shown = displayCodecs(map, decode);
  return codecView(map, shown?.key ?? map.keyCodec, shown?.value ?? value, perCpu, opts);
}
