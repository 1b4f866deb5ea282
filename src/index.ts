export { BpfMap, listMaps, MapClosedError } from './map/map.js';
export type {
  CreateOptions,
  GetOptions,
  MapDescription,
  OpenOptions,
  OpenPinnedOptions,
  RawValue,
  SetOptions,
  UpdateFlag,
  ValueCodec,
} from './map/map.js';
export type { MapFlagName, MapTypeName } from './map/types.js';
export { BpfError, isErrno } from './kernel/error.js';
export type { MapRef } from './kernel/error.js';
export type { Kernel, MapInfo, MapSizes } from './kernel/kernel.js';
export { LinuxKernel } from './kernel/linux.js';
export { EmulatedKernel } from './kernel/emulated.js';
export type { EmulatedKernelOptions } from './kernel/emulated.js';
export { openKernel, probeLinux } from './kernel/open.js';
export type { KernelKind } from './kernel/open.js';
export type { Codec, CodecType } from './codec/codec.js';
export { bytes } from './codec/bytes.js';
export { perCpu } from './codec/percpu.js';
export type { PerCpu } from './codec/percpu.js';
export * as constants from './sys/constants.js';
