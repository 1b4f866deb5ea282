// A BPF program that writes ring buffer records, for tests and benchmarks: run through
// BPF_PROG_TEST_RUN, it writes a record with bpf_ringbuf_output, or with bpf_ringbuf_reserve and then
// submit or discard. Each run first adds 1 to a sequence number kept in the first 8 bytes of a payload
// (an array map value), then writes the payload's first `size` bytes: record i of a run carries the
// sequence number in its first bytes, and the payload the caller set after them.
import { BpfMap } from '../map/map.js';
import { BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP } from '../sys/constants.js';
import { Assembler, type Reg } from './asm.js';
import { BpfProgram } from './program.js';
import type { MapHandle } from './counter.js';

/** The largest record the producer writes: its payload's size. */
export const PRODUCER_MAX_RECORD = 4096;
const XDP_PASS = 2;
const R0: Reg = 0,
  R1: Reg = 1,
  R2: Reg = 2,
  R3: Reg = 3,
  R4: Reg = 4,
  R6: Reg = 6,
  R7: Reg = 7,
  R8: Reg = 8,
  R9: Reg = 9,
  FP: Reg = 10;

/** How a RingProducer run writes: how many records, the wakeup flag, and submit or discard. */
export interface ProduceOptions {
  /** Runs, each writing one record (one syscall for all of them). Default 1. */
  count?: number;
  /** Wakeup flags of the helper: wake the reader on every record, or never. */
  wakeup?: 'default' | 'force' | 'none';
  /** reserve(): discard the record instead of submitting it. */
  discard?: boolean;
}

function wakeupFlags(w: ProduceOptions['wakeup']): number {
  return w === 'force' ? BPF_RB_FORCE_WAKEUP : w === 'none' ? BPF_RB_NO_WAKEUP : 0;
}

/** Loads the payload (array value 0) into r9, bumps its sequence number; jumps to "out" when missing. */
function payloadPrologue(a: Assembler, payloadFd: number): void {
  a.storeImm('w', FP, -4, 0)
    .ldMapFd(R1, payloadFd)
    .movReg(R2, FP)
    .alu64('add', R2, -4)
    .call('map_lookup_elem')
    .jmp('jeq', R0, 0, 'out')
    .movReg(R9, R0)
    .mov(R1, 1)
    .atomicAdd('dw', R9, 0, R1);
}

/** Reads the packet's u32 words 0 and 1 (size or discard, flags) into r7 and r8; "out" when it is shorter. */
function packetArgs(a: Assembler): void {
  a.movReg(R6, R1)
    .load('w', R2, R6, 0)
    .load('w', R3, R6, 4)
    .movReg(R4, R2)
    .alu64('add', R4, 8)
    .jmpReg('jgt', R4, R3, 'out')
    .load('w', R7, R2, 0)
    .load('w', R8, R2, 4);
}

/** bpf_ringbuf_output(ring, payload, size from the packet, flags from the packet). */
export function outputInsns(ringFd: number, payloadFd: number): Buffer {
  const a = new Assembler();
  packetArgs(a);
  payloadPrologue(a, payloadFd);
  a.jmp('jgt', R7, PRODUCER_MAX_RECORD, 'out')
    .ldMapFd(R1, ringFd)
    .movReg(R2, R9)
    .movReg(R3, R7)
    .movReg(R4, R8)
    .call('ringbuf_output')
    .label('out')
    .mov(R0, XDP_PASS)
    .exit();
  return a.build();
}

/** bpf_ringbuf_reserve(ring, size) (the verifier wants a constant), copy the payload in, then submit or discard as the packet says. */
export function reserveInsns(ringFd: number, payloadFd: number, size: number): Buffer {
  const a = new Assembler();
  packetArgs(a);
  payloadPrologue(a, payloadFd);
  a.ldMapFd(R1, ringFd).mov(R2, size).mov(R3, 0).call('ringbuf_reserve').jmp('jeq', R0, 0, 'out').movReg(R6, R0);
  if (size > 0) a.movReg(R1, R6).mov(R2, size).movReg(R3, R9).call('probe_read_kernel');
  a.jmp('jne', R7, 0, 'discard')
    .movReg(R1, R6)
    .movReg(R2, R8)
    .call('ringbuf_submit')
    .ja('out')
    .label('discard')
    .movReg(R1, R6)
    .movReg(R2, R8)
    .call('ringbuf_discard')
    .label('out')
    .mov(R0, XDP_PASS)
    .exit();
  return a.build();
}

/**
 * Writes records into a RINGBUF map from a BPF program (XDP, run with BPF_PROG_TEST_RUN). Linux only.
 * Record bytes: the 8-byte little-endian sequence number (1 for the first record), then the payload.
 */
export class RingProducer implements Disposable {
  readonly payload: BpfMap<Buffer, Buffer>;
  private readonly ring: MapHandle;
  private readonly output: BpfProgram;
  private readonly reservers = new Map<number, BpfProgram>();
  private readonly packet = Buffer.alloc(64);

  constructor(ring: MapHandle) {
    this.ring = ring;
    this.payload = BpfMap.create({
      type: 'array',
      keySize: 4,
      valueSize: PRODUCER_MAX_RECORD,
      maxEntries: 1,
      name: 'rb_payload',
    }) as BpfMap<Buffer, Buffer>;
    try {
      this.output = BpfProgram.load({ type: 'xdp', insns: outputInsns(ring.fd, this.payload.fd), name: 'rb_output' });
    } catch (e) {
      this.payload.close();
      throw e;
    }
  }

  /** Sets the payload's bytes after the sequence number (bytes 8 ..), and the sequence number itself. */
  setPayload(tail: Uint8Array, seq = 0n): void {
    const v = Buffer.alloc(PRODUCER_MAX_RECORD);
    v.writeBigUInt64LE(seq, 0);
    Buffer.from(tail.buffer, tail.byteOffset, Math.min(tail.length, PRODUCER_MAX_RECORD - 8)).copy(v, 8);
    this.payload.set(Buffer.from([0, 0, 0, 0]), v);
  }

  /** The bytes record `seq` of `size` bytes holds, given the payload tail set. */
  static expected(tail: Uint8Array, seq: bigint, size: number): Buffer {
    const v = Buffer.alloc(Math.max(size, 8));
    v.writeBigUInt64LE(seq, 0);
    Buffer.from(tail.buffer, tail.byteOffset, Math.min(tail.length, Math.max(0, size - 8))).copy(v, 8);
    return v.subarray(0, size);
  }

  private check(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > PRODUCER_MAX_RECORD)
      throw new RangeError(`RingProducer: a record is 0 to ${PRODUCER_MAX_RECORD} bytes, got ${String(size)}`);
  }

  /** count records of size bytes with bpf_ringbuf_output. A record that does not fit is dropped (the helper's -EAGAIN). */
  outputRecords(size: number, opts: ProduceOptions = {}): void {
    this.check(size);
    this.packet.writeUInt32LE(size, 0);
    this.packet.writeUInt32LE(wakeupFlags(opts.wakeup), 4);
    this.output.testRun({ data: this.packet, repeat: opts.count ?? 1 });
  }

  /** count records of size bytes with bpf_ringbuf_reserve, then submit (or discard). A reservation that fails writes nothing. */
  reserveRecords(size: number, opts: ProduceOptions = {}): void {
    this.check(size);
    let p = this.reservers.get(size);
    if (!p) {
      p = BpfProgram.load({ type: 'xdp', insns: reserveInsns(this.ring.fd, this.payload.fd, size), name: 'rb_reserve' });
      this.reservers.set(size, p);
    }
    this.packet.writeUInt32LE(opts.discard ? 1 : 0, 0);
    this.packet.writeUInt32LE(wakeupFlags(opts.wakeup), 4);
    p.testRun({ data: this.packet, repeat: opts.count ?? 1 });
  }

  /** The sequence number of the last record written (or attempted: failed reservations count too). */
  seq(): bigint {
    const v = this.payload.get(Buffer.from([0, 0, 0, 0]));
    return v ? v.readBigUInt64LE(0) : 0n;
  }

  /** Closes the programs (and the map fds they hold). */
  close(): void {
    this.output.close();
    for (const p of this.reservers.values()) p.close();
    this.reservers.clear();
    this.payload.close();
  }

  /** Closes the producer (using declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The BPF side of a USER_RINGBUF, for tests: a program calling bpf_user_ringbuf_drain with a callback
 * that reads each record's first 8 bytes (bpf_dynptr_read) and adds them, and 1, to an array value
 * { u64 sum, u64 count }. Records shorter than 8 bytes are taken and not added. Linux only.
 */
export class UserRingDrainer implements Disposable {
  readonly totals: BpfMap<Buffer, Buffer>;
  private readonly prog: BpfProgram;

  constructor(ring: MapHandle) {
    this.totals = BpfMap.create({ type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, name: 'urb_totals' }) as BpfMap<Buffer, Buffer>;
    const a = new Assembler();
    a.ldMapFd(R1, ring.fd).ldFunc(R2, 'cb').mov(R3, 0).mov(R4, 0).call('user_ringbuf_drain').exit();
    // The callback: (struct bpf_dynptr *record, void *ctx) -> 0 to go on.
    a.label('cb')
      .movReg(R6, R1)
      .movReg(R1, FP)
      .alu64('add', R1, -8)
      .mov(R2, 8)
      .movReg(R3, R6)
      .mov(R4, 0)
      .mov(5, 0)
      .call('dynptr_read')
      .jmp('jne', R0, 0, 'next')
      .load('dw', R7, FP, -8)
      .storeImm('w', FP, -12, 0)
      .ldMapFd(R1, this.totals.fd)
      .movReg(R2, FP)
      .alu64('add', R2, -12)
      .call('map_lookup_elem')
      .jmp('jeq', R0, 0, 'next')
      .atomicAdd('dw', R0, 0, R7)
      .mov(R1, 1)
      .atomicAdd('dw', R0, 8, R1)
      .label('next')
      .mov(R0, 0)
      .exit();
    try {
      this.prog = BpfProgram.load({
        type: 'xdp',
        insns: a.build(),
        name: 'urb_drain',
        funcs: [
          { name: 'drain', insnOff: 0, args: 1 },
          { name: 'take', insnOff: a.labelAt('cb'), args: 2 },
        ],
      });
    } catch (e) {
      this.totals.close();
      throw e;
    }
  }

  /** Runs the program once: returns what bpf_user_ringbuf_drain returned (records taken, or -errno). */
  drain(): number {
    return this.prog.testRun({ data: new Uint8Array(64) }).retval | 0;
  }

  /** The sum of the records' first u64s and the count of records added so far. */
  read(): { sum: bigint; count: bigint } {
    const v = this.totals.get(Buffer.alloc(4)) ?? Buffer.alloc(16);
    return { sum: v.readBigUInt64LE(0), count: v.readBigUInt64LE(8) };
  }

  /** Closes the program. */
  close(): void {
    this.prog.close();
    this.totals.close();
  }

  /** Closes the drainer (using declarations). */
  [Symbol.dispose](): void {
    this.close();
  }
}
