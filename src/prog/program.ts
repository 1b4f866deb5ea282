import { closeSync } from 'node:fs';
import { BpfError } from '../kernel/error.js';
import { BPF_LOG_LEVEL1, BPF_PROG_LOAD, BPF_PROG_TEST_RUN, BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_XDP } from '../sys/constants.js';
import { errno, errnoName } from '../sys/errno.js';
import { BPF_INSN_SIZE, sysProgLoad, sysProgTestRun } from '../sys/prog.js';

/** Program types bpfmap loads by name. */
export type ProgramTypeName = 'socket_filter' | 'xdp';
const PROG_TYPES: Record<ProgramTypeName, number> = { socket_filter: BPF_PROG_TYPE_SOCKET_FILTER, xdp: BPF_PROG_TYPE_XDP };

/** The kernel caps a program at 1M instructions; a larger buffer is a caller's mistake. */
const MAX_INSNS = 1_000_000;
/** Verifier log buffer: enough for the small programs written here, retried larger when the kernel says so. */
const LOG_SIZE = 64 * 1024;
/** Lines of the verifier log kept in the error message (the full log is on the error). */
const LOG_TAIL_LINES = 12;

/** Options of BpfProgram.load. */
export interface LoadOptions {
  type?: ProgramTypeName;
  /** Encoded instructions (see Assembler.build()). */
  insns: Uint8Array;
  /** GPL-only helpers need a GPL-compatible license. */
  license?: string;
  /** At most 15 bytes of [A-Za-z0-9_.]. */
  name?: string;
}

/** BPF_PROG_LOAD failed; verifierLog holds what the verifier said (may be empty for non-verifier errors). */
export class ProgramLoadError extends BpfError {
  readonly verifierLog: string;

  constructor(errno: number, log: string, name: string | undefined) {
    const tail = log.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    super(BPF_PROG_LOAD, errno, {
      hint: tail
        ? `the verifier rejected program${name ? ` "${name}"` : ''}; end of its log:\n${tail}`
        : errnoName(errno) === 'EPERM' ? 'loading programs needs root or CAP_BPF (+ CAP_NET_ADMIN for this type)' : undefined,
    });
    this.verifierLog = log;
  }
}

/** Options of a BPF_PROG_TEST_RUN. */
export interface TestRunOptions {
  /** Runs in one syscall (default 1). The kernel loops in place, yielding the CPU when asked. */
  repeat?: number;
  /** Input packet; defaults to a zeroed 64-byte Ethernet frame. */
  data?: Uint8Array;
}

/** What a BPF_PROG_TEST_RUN returns. */
export interface TestRunResult {
  /** The program's return value on the last run. */
  retval: number;
  /** Average nanoseconds per run, as the kernel measured it. */
  durationNs: number;
  /** Runs done (= repeat). */
  runs: number;
}

const DEFAULT_PACKET = new Uint8Array(64);

// A program dropped without close() still gives its fd back when it is garbage collected.
const leaked = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // The process may be exiting; nothing useful to report from a finalizer.
  }
});

function readLog(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/**
 * Runs a loaded program with BPF_PROG_TEST_RUN, by fd (usable from a worker thread, which
 * shares the process's fds). Throws BpfError on failure.
 */
export function testRunFd(fd: number, opts: TestRunOptions = {}): TestRunResult {
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 0xffffffff)
    throw new RangeError(`testRun: repeat must be an integer from 1 to 2^32-1, got ${String(repeat)}`);
  const data = opts.data ?? DEFAULT_PACKET;
  if (!(data instanceof Uint8Array)) throw new TypeError('testRun: data must be a Uint8Array');
  const r = sysProgTestRun({ progFd: fd, dataIn: data, dataOut: null, repeat });
  if (r.result < 0)
    throw new BpfError(BPF_PROG_TEST_RUN, -r.result, {
      hint: errnoName(-r.result) === 'EINVAL' ? 'socket_filter and xdp programs need a packet of at least 14 bytes (an Ethernet header)' : undefined,
    });
  return { retval: r.retval, durationNs: r.duration, runs: repeat };
}

/** A loaded BPF program, open by fd. Linux only: the emulated kernel does not run programs. */
export class BpfProgram implements Disposable {
  readonly name: string;
  /** Instructions (8-byte slots). */
  readonly length: number;
  private fdValue: number;

  private constructor(fd: number, name: string, length: number) {
    this.fdValue = fd;
    this.name = name;
    this.length = length;
    leaked.register(this, fd, this);
  }

  /** Loads a program; a rejection throws ProgramLoadError with the verifier's log. */
  static load(opts: LoadOptions): BpfProgram {
    const type = PROG_TYPES[opts.type ?? 'socket_filter'];
    if (type === undefined) throw new TypeError(`program type must be one of ${Object.keys(PROG_TYPES).join(', ')}, got "${String(opts.type)}"`);
    const insns = opts.insns;
    if (!(insns instanceof Uint8Array) || insns.length === 0 || insns.length % BPF_INSN_SIZE !== 0)
      throw new TypeError(`program instructions must be a non-empty Uint8Array of 8-byte instructions, got ${insns instanceof Uint8Array ? `${insns.length} bytes` : typeof insns}`);
    if (insns.length / BPF_INSN_SIZE > MAX_INSNS) throw new RangeError(`a program holds at most ${MAX_INSNS} instructions`);
    const name = opts.name ?? '';
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.]{0,15}$/.test(name))
      throw new TypeError(`program name must be at most 15 characters of [A-Za-z0-9_.], got ${JSON.stringify(name)}`);
    const base = { progType: type, insns, license: opts.license ?? 'GPL', name };
    // Load without a log first (the verifier is faster without one); on failure, load again
    // with the log so the error can say why.
    const [fd] = sysProgLoad({ ...base, logLevel: 0, logBuf: null });
    if (fd >= 0) return new BpfProgram(fd, base.name, insns.length / BPF_INSN_SIZE);
    let log = Buffer.alloc(LOG_SIZE);
    let [fd2, trueSize] = sysProgLoad({ ...base, logLevel: BPF_LOG_LEVEL1, logBuf: log });
    if (fd2 === -errno.ENOSPC /* log truncated */ && trueSize > log.length) {
      log = Buffer.alloc(trueSize);
      [fd2] = sysProgLoad({ ...base, logLevel: BPF_LOG_LEVEL1, logBuf: log });
    }
    if (fd2 >= 0) return new BpfProgram(fd2, base.name, insns.length / BPF_INSN_SIZE);
    throw new ProgramLoadError(-fd, readLog(log), opts.name);
  }

  get fd(): number {
    if (this.fdValue < 0) throw new Error(`program "${this.name}" is closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue < 0;
  }

  /** Runs the program repeat times in one BPF_PROG_TEST_RUN syscall (blocks this thread meanwhile). */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    return testRunFd(this.fd, opts);
  }

  /** Releases the fd; the program is freed once nothing else holds it. Idempotent. */
  close(): void {
    if (this.fdValue < 0) return;
    const fd = this.fdValue;
    this.fdValue = -1;
    leaked.unregister(this);
    closeSync(fd);
  }

  /** Closes the program: `using prog = BpfProgram.load(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
