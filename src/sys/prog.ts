import { allocAttr, writeObjName } from './attr.js';
import { BPF_OBJ_NAME_LEN, BPF_PROG_LOAD, BPF_PROG_TEST_RUN } from './constants.js';
import { nativeBpf } from './native.js';

/** The PROG_LOAD part of union bpf_attr, up to log_true_size (kernel 6.4+; older kernels ignore it as zero tail). */
export const PROG_LOAD_ATTR = {
  prog_type: 0,
  insn_cnt: 4,
  insns: 8,
  license: 16,
  log_level: 24,
  log_size: 28,
  log_buf: 32,
  kern_version: 40,
  prog_flags: 44,
  prog_name: 48,
  prog_ifindex: 64,
  expected_attach_type: 68,
  prog_btf_fd: 72,
  func_info_rec_size: 76,
  func_info: 80,
  func_info_cnt: 88,
  log_true_size: 140,
  size: 144,
} as const;

/** Bytes of one struct bpf_insn. */
export const BPF_INSN_SIZE = 8;

export interface ProgLoadAttr {
  progType: number;
  /** Encoded instructions, insnCnt * 8 bytes. */
  insns: Uint8Array;
  license: string;
  name?: string;
  expectedAttachType?: number;
  progFlags?: number;
  /** 0: no log; 1 or 2: the verifier writes its log into logBuf. */
  logLevel: number;
  /** Receives the verifier log (NUL-terminated); null with logLevel 0. */
  logBuf: Uint8Array | null;
  /** The program's BTF and its functions (struct bpf_func_info: u32 insn_off, u32 type_id each): callbacks need them. */
  btfFd?: number;
  funcInfo?: Uint8Array;
}

/** Bytes of one struct bpf_func_info. */
export const BPF_FUNC_INFO_SIZE = 8;

/** BPF_PROG_LOAD: [the program's fd or -errno, log_true_size as the kernel left it]. */
export function sysProgLoad(a: ProgLoadAttr): [number, number] {
  const L = PROG_LOAD_ATTR;
  const attr = allocAttr(L.size);
  const license = Buffer.from(`${a.license}\0`, 'utf8');
  const insnCnt = Math.floor(a.insns.length / BPF_INSN_SIZE);
  const logSize = a.logBuf ? a.logBuf.length : 0;
  attr.writeUInt32LE(a.progType, L.prog_type);
  attr.writeUInt32LE(insnCnt, L.insn_cnt);
  attr.writeUInt32LE(a.logBuf ? a.logLevel : 0, L.log_level);
  attr.writeUInt32LE(logSize, L.log_size);
  attr.writeUInt32LE(a.progFlags ?? 0, L.prog_flags);
  writeObjName(attr, L.prog_name, a.name ?? '', BPF_OBJ_NAME_LEN);
  attr.writeUInt32LE(a.expectedAttachType ?? 0, L.expected_attach_type);
  const funcCnt = a.funcInfo ? Math.floor(a.funcInfo.length / BPF_FUNC_INFO_SIZE) : 0;
  if (a.funcInfo) {
    attr.writeUInt32LE(a.btfFd ?? 0, L.prog_btf_fd);
    attr.writeUInt32LE(BPF_FUNC_INFO_SIZE, L.func_info_rec_size);
    attr.writeUInt32LE(funcCnt, L.func_info_cnt);
  }
  const r = nativeBpf()(BPF_PROG_LOAD, attr,
    L.insns, a.insns, insnCnt * BPF_INSN_SIZE,
    L.license, license, license.length,
    L.log_buf, a.logBuf, logSize,
    L.func_info, funcCnt > 0 ? a.funcInfo ?? null : null, funcCnt * BPF_FUNC_INFO_SIZE);
  return [r, attr.readUInt32LE(L.log_true_size)];
}

/** The PROG_TEST_RUN part of union bpf_attr. */
export const PROG_TEST_RUN_ATTR = {
  prog_fd: 0,
  retval: 4,
  data_size_in: 8,
  data_size_out: 12,
  data_in: 16,
  data_out: 24,
  repeat: 32,
  duration: 36,
  ctx_size_in: 40,
  ctx_size_out: 44,
  ctx_in: 48,
  ctx_out: 56,
  flags: 64,
  cpu: 68,
  batch_size: 72,
  size: 80,
} as const;

export interface ProgTestRunAttr {
  progFd: number;
  /** Packet (or other input) the program runs on. */
  dataIn: Uint8Array | null;
  /** Receives the packet as the program left it; null (or empty) to discard. */
  dataOut: Uint8Array | null;
  /** Runs in one call (0 counts as 1). */
  repeat: number;
  flags?: number;
  cpu?: number;
}

export interface ProgTestRunOut {
  /** 0 or -errno. */
  result: number;
  /** The program's return value on the last run. */
  retval: number;
  /** Average nanoseconds per run, as the kernel measured. */
  duration: number;
  /** Bytes the kernel reports for the output packet (may exceed dataOut: then ENOSPC). */
  dataSizeOut: number;
}

/** BPF_PROG_TEST_RUN. Allocates its own attr so worker threads may call it concurrently. */
export function sysProgTestRun(a: ProgTestRunAttr): ProgTestRunOut {
  const L = PROG_TEST_RUN_ATTR;
  const attr = allocAttr(L.size);
  const inLen = a.dataIn ? a.dataIn.length : 0;
  // data_size_out 0 tells the kernel "no limit": a zero-length output buffer would get the whole
  // packet written past it, so it is passed as no buffer at all.
  const dataOut = a.dataOut && a.dataOut.length > 0 ? a.dataOut : null;
  const outLen = dataOut ? dataOut.length : 0;
  attr.writeUInt32LE(a.progFd, L.prog_fd);
  attr.writeUInt32LE(inLen, L.data_size_in);
  attr.writeUInt32LE(outLen, L.data_size_out);
  attr.writeUInt32LE(a.repeat, L.repeat);
  attr.writeUInt32LE(a.flags ?? 0, L.flags);
  attr.writeUInt32LE(a.cpu ?? 0, L.cpu);
  const result = nativeBpf()(BPF_PROG_TEST_RUN, attr,
    L.data_in, a.dataIn, inLen,
    L.data_out, dataOut, outLen);
  return {
    result,
    retval: attr.readUInt32LE(L.retval),
    duration: attr.readUInt32LE(L.duration),
    dataSizeOut: attr.readUInt32LE(L.data_size_out),
  };
}
