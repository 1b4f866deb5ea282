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
}

/** The type a codec speaks. */
export type CodecType<C> = C extends Codec<infer T> ? T : never;
