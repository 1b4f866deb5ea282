import { allocAttr, writeObjName } from './attr.js';
import { BPF_MAP_CREATE, BPF_OBJ_NAME_LEN } from './constants.js';
import { nativeBpf } from './native.js';

/** The MAP_CREATE part of union bpf_attr. */
export const MAP_CREATE_ATTR = {
  map_type: 0,
  key_size: 4,
  value_size: 8,
  max_entries: 12,
  map_flags: 16,
  inner_map_fd: 20,
  numa_node: 24,
  map_name: 28,
  map_ifindex: 44,
  btf_fd: 48,
  btf_key_type_id: 52,
  btf_value_type_id: 56,
  btf_vmlinux_value_type_id: 60,
  map_extra: 64,
  size: 72,
} as const;

export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  innerMapFd?: number;
  numaNode?: number;
  name?: string;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  mapExtra?: bigint;
}

/** BPF_MAP_CREATE: the new map's fd, or -errno. */
export function sysMapCreate(a: MapCreateAttr): number {
  const L = MAP_CREATE_ATTR;
  const attr = allocAttr(L.size);
  attr.writeUInt32LE(a.mapType, L.map_type);
  attr.writeUInt32LE(a.keySize, L.key_size);
  attr.writeUInt32LE(a.valueSize, L.value_size);
  attr.writeUInt32LE(a.maxEntries, L.max_entries);
  attr.writeUInt32LE(a.mapFlags, L.map_flags);
  attr.writeUInt32LE(a.innerMapFd ?? 0, L.inner_map_fd);
  attr.writeUInt32LE(a.numaNode ?? 0, L.numa_node);
  writeObjName(attr, L.map_name, a.name ?? '', BPF_OBJ_NAME_LEN);
  attr.writeUInt32LE(a.btfFd ?? 0, L.btf_fd);
  attr.writeUInt32LE(a.btfKeyTypeId ?? 0, L.btf_key_type_id);
  attr.writeUInt32LE(a.btfValueTypeId ?? 0, L.btf_value_type_id);
  attr.writeBigUInt64LE(a.mapExtra ?? 0n, L.map_extra);
  return nativeBpf()(BPF_MAP_CREATE, attr);
}
