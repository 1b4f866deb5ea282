export { BpfMap, listMaps, MapClosedError } from './map/map.js';
export type {
  CpuValue,
  EntriesOptions,
  MapDescription,
  MapDetails,
  OpenedKey,
  OpenedValue,
  RawValue,
} from './map/map.js';
export type { CreateOptions, GetOptions, OpenOptions, OpenPinnedOptions, SetOptions, UpdateFlag, ValueCodec } from './map/options.js';
export type { MapFlagName, MapTypeName } from './map/types.js';
export { BatchCursor } from './map/cursor.js';
export type {
  BatchFlags,
  DeleteBatchInput,
  LookupBatchOptions,
  LookupBatchResult,
  PackedEntries,
  RawLookupBatch,
  UpdateBatchInput,
  WriteBatchOptions,
} from './map/batch.js';
export { MapAsyncIterator, MapIterator } from './map/walk.js';
export type { WalkMode, WalkOptions } from './map/walk.js';
export type { DrainOptions } from './map/drain.js';
export type { Dump, DumpOptions } from './map/dump.js';
export type { MapMemory } from './map/memory.js';
export { MmapError } from './sys/mmap-error.js';
export type { ParallelOptions } from './map/parallel.js';
export { BpfError, isErrno } from './kernel/error.js';
export type { MapRef } from './kernel/error.js';
export type { HintContext } from './kernel/hints.js';
export type { Kernel, MapInfo, MapSizes } from './kernel/kernel.js';
export { LinuxKernel } from './kernel/linux.js';
export { EmulatedKernel } from './kernel/emulated.js';
export type { EmulatedKernelOptions } from './kernel/emulated.js';
export { openKernel, probeLinux } from './kernel/open.js';
export type { KernelKind } from './kernel/open.js';
export type { Codec, CodecType, JsonValue, TypedArrayName } from './codec/codec.js';
export { alignOf, CodecError, fromJSONValue, toJSONValue } from './codec/codec.js';
export { bytes } from './codec/bytes.js';
export { be16, be32, i16, i32, i64, i64n, i8, u16, u32, u64, u64n, u8 } from './codec/int.js';
export { f32, f64 } from './codec/float.js';
export { cstring } from './codec/cstring.js';
export { ipv4, ipv6 } from './codec/ip.js';
export { struct } from './codec/struct.js';
export type { Fields, StructCodec, StructField, StructOptions, StructValue } from './codec/struct.js';
export { union } from './codec/union.js';
export type { UnionCodec, UnionOptions, UnionValue } from './codec/union.js';
export { array } from './codec/array.js';
export type { ArrayCodec } from './codec/array.js';
export { typedView } from './codec/view.js';
export type { AnyTypedArray, TypedArrayOf } from './codec/view.js';
export { perCpu, sumPerCpu } from './codec/percpu.js';
export type { PerCpu, PerCpuValue } from './codec/percpu.js';
/** The kernel's numbers: BPF commands, map types, map and update flags, errno values. */
export * as constants from './sys/constants.js';
export { Assembler } from './prog/asm.js';
export type { AluOp, HelperName, JmpOp, Reg, Size } from './prog/asm.js';
export { BpfProgram, ProgramLoadError, testRunFd } from './prog/program.js';
export type { LoadOptions, ProgramTypeName, TestRunOptions, TestRunResult } from './prog/program.js';
export { counterInsns, loadCounter } from './prog/counter.js';
export { RingBuffer, RingBufferError, RingReader, UserRingBuffer, MAX_RING_SIZE } from './map/ringbuf.js';
export type { ReadOptions, RingBufferOptions, RingEvent, RingStats } from './map/ringbuf.js';
export { RingProducer, UserRingDrainer, PRODUCER_MAX_RECORD } from './prog/ringbuf-producer.js';
export type { ProduceOptions } from './prog/ringbuf-producer.js';
export type { EmuRingRecord } from './emu/ringbuf.js';
export type { CounterOptions, MapHandle } from './prog/counter.js';
export { HarvestReadError, HarvestSlotError, SwapHarvester } from './harvest/harvester.js';
export type { CreateHarvesterOptions, Harvest, HarvestEntry, HarvesterCommon, HarvestMapType, Summed } from './harvest/harvester.js';
export { Btf } from './btf/btf.js';
export { BtfError } from './btf/error.js';
export { parseBtf } from './btf/parse.js';
export { BtfBuilder, encodeBtf } from './btf/encode.js';
export type { MemberSpec } from './btf/encode.js';
export { codecFromBtf, sectionVariables } from './btf/codec.js';
export type { BtfCodec, BtfCodecOptions, BtfValue, SectionVariable } from './btf/codec.js';
export { defaultDisplays, displayCodec, DISPLAY_DECODERS, fieldAt } from './btf/display.js';
export { parseCType, type CTypeLookup } from './btf/c-types.js';
export type { DisplayDecoder, DisplayName, DisplayOptions, FieldAt } from './btf/display.js';
export type { GlobalValues } from './map/globals.js';
export { generateTypeScript } from './map/gen.js';
export type { GenerateOptions } from './map/gen.js';
export { btfFromId, loadBtf, LoadedBtf, openBtf, vmlinuxBtf } from './kernel/btf.js';
export type * from './btf/types.js';
export { BTF_KIND } from './btf/types.js';
export type { BtfTypeRef, MapBtf, MapBtfType } from './map/btf.js';
export { btfTypeOfCodec } from './btf/from-codec.js';
export type { BtfInfo } from './kernel/kernel.js';
