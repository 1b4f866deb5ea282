import { allocAttr, readObjName } from './attr.js';
import { BPF_BTF_GET_FD_BY_ID, BPF_BTF_GET_NEXT_ID, BPF_BTF_LOAD, BPF_OBJ_GET_INFO_BY_FD } from './constants.js';
import { INFO_ATTR } from './map-info.js';
import { nativeBpf } from './native.js';
import { OBJ_ID_ATTR, sysGetFdById } from './obj-id.js';

/** The BPF_BTF_LOAD part of union bpf_attr. */
export const BTF_LOAD_ATTR = {
  btf: 0,
  btf_log_buf: 8,
  btf_size: 16,
  btf_log_size: 20,
  btf_log_level: 24,
  btf_log_true_size: 28,
  btf_flags: 32,
  btf_token_fd: 36,
  size: 40,
} as const;

/** struct bpf_btf_info. */
export const BTF_INFO = {
  btf: 0,
  btf_size: 8,
  id: 12,
  name: 16,
  name_len: 24,
  kernel_btf: 28,
  size: 32,
} as const;

/** A pointer offset inside the previous buffer rather than the attr (bit 31; see native/bpf_call.c). */
function nested(offset: number): number {
  return 0x80000000 + offset;
}

/** BPF_BTF_LOAD: [fd or -errno, the log's full size as the kernel reports it]. */
export function sysBtfLoad(blob: Uint8Array, log: Uint8Array | null, logLevel: number): [number, number] {
  const L = BTF_LOAD_ATTR;
  const attr = allocAttr(L.size);
  attr.writeUInt32LE(blob.length, L.btf_size);
  attr.writeUInt32LE(log ? log.length : 0, L.btf_log_size);
  attr.writeUInt32LE(log ? logLevel : 0, L.btf_log_level);
  const r = nativeBpf()(BPF_BTF_LOAD, attr, L.btf, blob, blob.length, L.btf_log_buf, log, log ? log.length : 0);
  return [r, attr.readUInt32LE(L.btf_log_true_size)];
}

/** BPF_BTF_GET_FD_BY_ID: an fd, or -errno. */
export function sysBtfGetFdById(id: number): number {
  return sysGetFdById(BPF_BTF_GET_FD_BY_ID, id, 0);
}

/** BPF_BTF_GET_NEXT_ID: the next BTF object id after startId, or -errno (ENOENT past the last). */
export function sysBtfGetNextId(startId: number): number {
  const attr = allocAttr(OBJ_ID_ATTR.size);
  attr.writeUInt32LE(startId, OBJ_ID_ATTR.start_id);
  const r = nativeBpf()(BPF_BTF_GET_NEXT_ID, attr);
  return r < 0 ? r : attr.readUInt32LE(OBJ_ID_ATTR.next_id);
}

/** What the kernel says of a BTF object (struct bpf_btf_info). */
export interface RawBtfInfo {
  id: number;
  /** Bytes of the blob. */
  size: number;
  /** "vmlinux" or a module's name for kernel BTF; empty for BTF loaded by BPF_BTF_LOAD. */
  name: string;
  kernelBtf: boolean;
}

const NAME_LEN = 64;

/**
 * OBJ_GET_INFO_BY_FD on a BTF fd; with data, the kernel also copies up to data.length bytes of
 * the blob into it. Returns the info, or -errno.
 */
export function sysBtfInfo(fd: number, data: Uint8Array | null): RawBtfInfo | number {
  const I = BTF_INFO;
  const info = allocAttr(I.size);
  const name = Buffer.alloc(NAME_LEN);
  info.writeUInt32LE(data ? data.length : 0, I.btf_size);
  info.writeUInt32LE(NAME_LEN, I.name_len);
  const attr = allocAttr(INFO_ATTR.size);
  attr.writeUInt32LE(fd, INFO_ATTR.bpf_fd);
  attr.writeUInt32LE(info.length, INFO_ATTR.info_len);
  const r = nativeBpf()(BPF_OBJ_GET_INFO_BY_FD, attr,
    INFO_ATTR.info, info, info.length,
    nested(I.btf), data, data ? data.length : 0,
    nested(I.name), name, NAME_LEN);
  if (r < 0) return r;
  return {
    id: info.readUInt32LE(I.id),
    size: info.readUInt32LE(I.btf_size),
    name: readObjName(name, 0, NAME_LEN),
    kernelBtf: info.readUInt32LE(I.kernel_btf) !== 0,
  };
}
