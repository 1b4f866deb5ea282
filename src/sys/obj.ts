import { allocAttr } from './attr.js';
import { BPF_OBJ_GET, BPF_OBJ_PIN } from './constants.js';
import { nativeBpf } from './native.js';

/** The BPF_OBJ_* part of union bpf_attr. */
export const OBJ_ATTR = {
  pathname: 0,
  bpf_fd: 8,
  file_flags: 12,
  size: 16,
} as const;

/**
 * A pin path as both kernels take it: a string without NUL. The kernel reads a C string, so a
 * NUL would silently cut the path short there: refused before any syscall, on either kernel.
 */
export function checkObjPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new TypeError(`a pin path must be a string, got ${typeof path}`);
  if (path.includes('\0')) throw new TypeError(`pin path ${JSON.stringify(path)} contains a NUL byte (the kernel would cut the path there)`);
}

function cPath(path: string): Buffer {
  checkObjPath(path);
  return Buffer.from(`${path}\0`, 'utf8');
}

/** BPF_OBJ_PIN: 0 or -errno. */
export function sysObjPin(fd: number, path: string): number {
  const attr = allocAttr(OBJ_ATTR.size);
  const p = cPath(path);
  attr.writeUInt32LE(fd, OBJ_ATTR.bpf_fd);
  return nativeBpf()(BPF_OBJ_PIN, attr, OBJ_ATTR.pathname, p, p.length);
}

/** BPF_OBJ_GET: an fd for the pinned object, or -errno. */
export function sysObjGet(path: string, fileFlags: number): number {
  const attr = allocAttr(OBJ_ATTR.size);
  const p = cPath(path);
  attr.writeUInt32LE(fileFlags, OBJ_ATTR.file_flags);
  return nativeBpf()(BPF_OBJ_GET, attr, OBJ_ATTR.pathname, p, p.length);
}
