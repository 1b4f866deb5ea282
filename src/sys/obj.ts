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

/** The path as the C string the kernel reads; the kernels refuse a NUL in it first (kernel/checks.ts), this is the backstop. */
function cPath(path: string): Buffer {
  if (path.includes('\0')) throw new TypeError(`pin path ${JSON.stringify(path)} contains a NUL byte`);
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
