// Argument checks shared by both kernels, so a bad buffer, number or flag fails the same way on
// each, before any byte of an attr is written or any map is touched.
import { BPF_EXIST, BPF_F_LOCK, BPF_MAP_UPDATE_ELEM, BPF_NOEXIST } from '../sys/constants.js';
import { errno } from '../sys/errno.js';
import { BpfError } from './error.js';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return v.constructor?.name ?? 'object';
}

/**
 * A buffer the kernel reads or writes: null, or a Uint8Array (Buffer included) holding at least
 * len bytes (len 0 accepts null). Other typed arrays are refused rather than viewed as bytes: the
 * addon refuses them, and an element count is not a byte count.
 */
export function need(buf: Uint8Array | null, len: number, what: string): void {
  if (buf !== null && !(buf instanceof Uint8Array))
    throw new TypeError(`${what} must be a Uint8Array (or Buffer), got ${describe(buf)}`);
  if (len > 0 && (buf === null || buf.length < len))
    throw new RangeError(`${what} must hold ${len} bytes, got ${buf === null ? 'none' : buf.length}`);
}

/** A RangeError unless n is a u32. */
export function u32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${n}`);
}

/** The flag bits the kernel knows for an element command: updates take BPF_ANY/NOEXIST/EXIST and F_LOCK, lookups F_LOCK only. */
function knownElemFlags(cmd: number): number {
  return cmd === BPF_MAP_UPDATE_ELEM ? BPF_NOEXIST | BPF_EXIST | BPF_F_LOCK : BPF_F_LOCK;
}

/**
 * The flags of an element lookup, update or lookup-and-delete: a RangeError unless they are a
 * u64, and the kernel's EINVAL for bits it does not know for cmd (it refuses them the same way).
 */
export function elemFlags(cmd: number, flags: number): void {
  if (typeof flags !== 'number') throw new TypeError(`flags must be a number, got ${describe(flags)}`);
  if (!Number.isInteger(flags) || flags < 0 || flags >= 2 ** 64) throw new RangeError(`flags must be a u64, got ${flags}`);
  const known = knownElemFlags(cmd);
  // Compared as a number first: bitwise operators keep only the low 32 bits.
  if (flags > known || (flags & ~known) !== 0)
    throw new BpfError(cmd, errno.EINVAL, { elemFlags: flags, hint: `unknown flag bits in ${flags} (this command takes ${known === BPF_F_LOCK ? 'only BPF_F_LOCK (4)' : 'BPF_NOEXIST (1), BPF_EXIST (2) and BPF_F_LOCK (4)'})` });
}

/**
 * A pin path as both kernels take it: a string without NUL. The kernel reads a C string, so a
 * NUL would silently cut the path short there: refused before any syscall, on either kernel.
 */
export function checkObjPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new TypeError(`a pin path must be a string, got ${typeof path}`);
  if (path.includes('\0')) throw new TypeError(`pin path ${JSON.stringify(path)} contains a NUL byte (the kernel would cut the path there)`);
}
