import { allocAttr } from './attr.js';
import { BPF_MAP_GET_FD_BY_ID, BPF_MAP_GET_NEXT_ID } from './constants.js';
import { nativeBpf } from './native.js';

/** The BPF_*_GET_*_ID part of union bpf_attr. */
export const OBJ_ID_ATTR = {
  start_id: 0, // also map_id, prog_id, btf_id
  next_id: 4,
  open_flags: 8,
  size: 12,
} as const;

const L = OBJ_ID_ATTR;

/** BPF_MAP_GET_NEXT_ID: the next map id after startId, or -errno (ENOENT past the last). */
export function sysMapGetNextId(startId: number): number {
  const attr = allocAttr(L.size);
  attr.writeUInt32LE(startId, L.start_id);
  const r = nativeBpf()(BPF_MAP_GET_NEXT_ID, attr);
  return r < 0 ? r : attr.readUInt32LE(L.next_id);
}

/** BPF_MAP_GET_FD_BY_ID (or BTF_GET_FD_BY_ID via cmd): an fd, or -errno. */
export function sysGetFdById(cmd: number, id: number, openFlags: number): number {
  const attr = allocAttr(L.size);
  attr.writeUInt32LE(id, L.start_id);
  attr.writeUInt32LE(openFlags, L.open_flags);
  return nativeBpf()(cmd, attr);
}

export function sysMapGetFdById(id: number, openFlags: number): number {
  return sysGetFdById(BPF_MAP_GET_FD_BY_ID, id, openFlags);
}
