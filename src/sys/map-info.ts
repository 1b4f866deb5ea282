import { allocAttr, readObjName } from './attr.js';
import { BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_NAME_LEN } from './constants.js';
import { nativeBpf } from './native.js';

/** The BPF_OBJ_GET_INFO_BY_FD part of union bpf_attr. */
export const INFO_ATTR = {
  bpf_fd: 0,
  info_len: 4,
  info: 8,
  size: 16,
} as const;

/** struct bpf_map_info. */
export const MAP_INFO = {
  type: 0,
  id: 4,
  key_size: 8,
  value_size: 12,
  max_entries: 16,
  map_flags: 20,
  name: 24,
  ifindex: 40,
  btf_vmlinux_value_type_id: 44,
  netns_dev: 48,
  netns_ino: 56,
  btf_id: 64,
  btf_key_type_id: 68,
  btf_value_type_id: 72,
  btf_vmlinux_id: 76,
  map_extra: 80,
  size: 88,
} as const;

/** What the kernel says of a map, decoded from struct bpf_map_info. */
export interface RawMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxId: number;
  mapExtra: bigint;
}

/** BPF_OBJ_GET_INFO_BY_FD into a caller's info buffer: 0 or -errno (the info_len the kernel writes back is not read). */
export function sysObjGetInfoByFd(fd: number, info: Uint8Array): number {
  const attr = allocAttr(INFO_ATTR.size);
  attr.writeUInt32LE(fd, INFO_ATTR.bpf_fd);
  attr.writeUInt32LE(info.length, INFO_ATTR.info_len);
  return nativeBpf()(BPF_OBJ_GET_INFO_BY_FD, attr, INFO_ATTR.info, info, info.length);
}

export function decodeMapInfo(b: Buffer): RawMapInfo {
  const L = MAP_INFO;
  return {
    type: b.readUInt32LE(L.type),
    id: b.readUInt32LE(L.id),
    keySize: b.readUInt32LE(L.key_size),
    valueSize: b.readUInt32LE(L.value_size),
    maxEntries: b.readUInt32LE(L.max_entries),
    flags: b.readUInt32LE(L.map_flags),
    name: readObjName(b, L.name, BPF_OBJ_NAME_LEN),
    ifindex: b.readUInt32LE(L.ifindex),
    btfVmlinuxValueTypeId: b.readUInt32LE(L.btf_vmlinux_value_type_id),
    netnsDev: b.readBigUInt64LE(L.netns_dev),
    netnsIno: b.readBigUInt64LE(L.netns_ino),
    btfId: b.readUInt32LE(L.btf_id),
    btfKeyTypeId: b.readUInt32LE(L.btf_key_type_id),
    btfValueTypeId: b.readUInt32LE(L.btf_value_type_id),
    btfVmlinuxId: b.readUInt32LE(L.btf_vmlinux_id),
    mapExtra: b.readBigUInt64LE(L.map_extra),
  };
}

/** Reads struct bpf_map_info of fd: the info, or -errno. */
export function sysMapInfo(fd: number): RawMapInfo | number {
  const info = allocAttr(MAP_INFO.size);
  const r = sysObjGetInfoByFd(fd, info);
  return r < 0 ? r : decodeMapInfo(info);
}
