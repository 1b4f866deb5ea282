/** Any value JSON can carry: what toJSON returns and what JSON.parse gives to fromJSON. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** TypedArray constructors whose element a codec can be, for zero-copy columnar views. */
export type TypedArrayName =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'Float32Array'
  | 'Float64Array';

/**
 * Encodes and decodes one fixed-size C value at an offset of a buffer. Every key and value
 * that crosses into the kernel goes through one.
 */
export interface Codec<T> {
  /** Size in bytes; must equal the map's key or value size. */
  readonly size: number;
  /** A short description for error messages, e.g. "u32" or "struct flow". */
  readonly name: string;
  /** Writes value at buf[offset .. offset+size); throws TypeError for values it cannot encode. */
  encode(value: T, buf: Buffer, offset: number): void;
  /** Reads a value from buf[offset .. offset+size). */
  decode(buf: Buffer, offset: number): T;
  /** C alignment in bytes (a power of two) when the value sits in a struct; 1 when absent, as for a char array. */
  readonly align?: number;
  /** The TypedArray whose element is exactly this codec in host byte order (columnar views). */
  readonly typedArray?: TypedArrayName;
  /**
   * A 64-bit integer decoded as a number (u64n, i64n): readers may decode it from its two 32-bit
   * halves in host order, with the codec's range check.
   */
  readonly halves?: 'unsigned' | 'signed';
  /** Exact sum of two values (per-CPU totals); it may exceed the type's range, which encode then refuses. */
  add?(a: T, b: T): T;
  /** When add is absent: why, naming the field that cannot be summed (codecs made from BTF say it). */
  readonly whyNoAdd?: string;
  /** The value as JSON that fromJSON reads back exactly. */
  toJSON?(value: T): JsonValue;
  /** Reads what toJSON wrote (or JSON.parse gave); a CodecError naming the field path for bad input. */
  fromJSON?(json: unknown): T;
}

/** The type a codec speaks. */
export type CodecType<C> = C extends Codec<infer T> ? T : never;

/**
 * A value a codec refuses. The message leads with the codec's name (`u16: expected an integer
 * 0..65535, got "x"`), or inside structs and arrays with the field path (`flow.sport: ...`):
 * containers add their segment as the error passes up, so paths cost nothing on success.
 */
export class CodecError extends TypeError {
  // As Node's own errors: named TypeError, told apart by code.
  override readonly name = 'TypeError';
  readonly code = 'ERR_BPFMAP_CODEC';
  /** What is wrong, without the path. */
  readonly detail: string;
  /** Where, e.g. ".sport" or "[3].addr"; empty at the top level. */
  path = '';
  /** The outermost named struct the value belongs to, if any. */
  root: string | undefined;

  /** codec names the refusing codec; it leads the message until a container gives a path. */
  constructor(codec: string, detail: string) {
    super(`${codec}: ${detail}`);
    this.detail = detail;
  }

  /** Which side of a map entry the value was, once a map names it. */
  side: 'key' | 'value' | undefined;
  /** The map the value was for, once a map names it (e.g. `id 5 "flows"`). */
  map: string | undefined;

  /**
   * Names the side of the entry and the map, with the field path:
   * `key.sport of map id 5 "flows": expected an integer 0..65535, got -1`.
   */
  of(side: 'key' | 'value', map: string, entry?: number): this {
    this.side = side;
    this.map = map;
    this.message = `${side}${this.path} of map ${map}${entry === undefined ? '' : ` (entry ${entry})`}: ${this.detail}`;
    return this;
  }

  /** Prepends a container's segment (".field" or "[i]"); a named struct also becomes the root. */
  within(segment: string, root?: string): this {
    this.path = segment + this.path;
    if (root !== undefined) this.root = root;
    const where = this.root === undefined ? this.path.replace(/^\./, '') : this.root + this.path;
    this.message = `${where}: ${this.detail}`;
    return this;
  }
}

/** A short rendering of a value for error messages. */
export function show(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'object':
      if (v === null) return 'null';
      if (Array.isArray(v)) return `an array of ${v.length}`;
      if (v instanceof Uint8Array) return `${v.length} bytes`;
      return 'an object';
    case 'undefined':
      return 'undefined';
    default:
      return `a ${typeof v}`;
  }
}

/** A codec's alignment: its own, or 1 (a byte array) when it does not say. */
export function alignOf(codec: Codec<unknown>): number {
  return codec.align ?? 1;
}

/** A value as JSON: the codec's own toJSON, or the hex of its encoded bytes when it has none. */
export function toJSONValue<T>(codec: Codec<T>, value: T): JsonValue {
  if (codec.toJSON) return codec.toJSON(value);
  const b = Buffer.alloc(codec.size);
  codec.encode(value, b, 0);
  return b.toString('hex');
}

/** The inverse of toJSONValue. */
export function fromJSONValue<T>(codec: Codec<T>, json: unknown): T {
  if (codec.fromJSON) return codec.fromJSON(json);
  return codec.decode(hexBytes(json, codec.size, codec.name), 0);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Parses a hex string of exactly size bytes (JSON form of raw bytes). */
export function hexBytes(json: unknown, size: number, name: string): Buffer {
  if (typeof json !== 'string' || json.length !== size * 2 || !HEX.test(json))
    throw new CodecError(name, `expected a hex string of ${size} bytes (${size * 2} hex digits), got ${show(json)}`);
  return Buffer.from(json, 'hex');
}
