// A small assembler for eBPF instructions (struct bpf_insn: u8 code, u8 dst:4 src:4, s16 off,
// s32 imm), enough to write map programs by hand: ALU, loads/stores, jumps to labels, helper
// calls, atomic add, and the 16-byte ld_imm64 that carries map fds.

/** Instruction classes (code & 0x07). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

/** Load/store sizes (code & 0x18). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

/** Load/store modes (code & 0xe0). */
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_ATOMIC = 0xc0;

/** Operand source (code & 0x08): the immediate or the src register. */
export const BPF_K = 0x00;
export const BPF_X = 0x08;

/** ALU operations (code & 0xf0). */
export const ALU_OPS = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0,
} as const;
/** An ALU operation by name (add, sub, mul, ..., as the assembler spells them). */
export type AluOp = keyof typeof ALU_OPS;

/** Conditional jump operations (code & 0xf0). */
export const JMP_OPS = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70,
  jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
} as const;
/** A conditional jump by name (jeq, jgt, ...). */
export type JmpOp = keyof typeof JMP_OPS;
const BPF_JA = 0x00;
const BPF_CALL = 0x80;
const BPF_EXIT = 0x90;

/** Atomic operations (imm of a BPF_ATOMIC store). */
export const BPF_ADD = 0x00;
export const BPF_FETCH = 0x01;

/** ld_imm64 src_reg: imm is a map fd the kernel replaces with the map's address. */
export const BPF_PSEUDO_MAP_FD = 1;

/** Helper function ids (enum bpf_func_id). */
export const HELPERS = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
} as const;
/** A BPF helper the assembler can call by name. */
export type HelperName = keyof typeof HELPERS;

/** Registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 callee-saved, r10 frame pointer (read-only). */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
/** A load/store width: b (8 bits), h (16), w (32), dw (64). */
export type Size = 'b' | 'h' | 'w' | 'dw';
const SIZES: Record<Size, number> = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW };

interface Insn {
  code: number;
  dst: Reg;
  src: number;
  off: number;
  imm: number;
  /** A label the offset is resolved to. */
  target?: string;
}

function reg(r: Reg): Reg {
  if (!Number.isInteger(r) || r < 0 || r > 10) throw new RangeError(`BPF register must be r0..r10, got ${String(r)}`);
  return r;
}

function s16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < -0x8000 || n > 0x7fff) throw new RangeError(`${what} must be an s16, got ${n}`);
  return n;
}

// imm is a 32-bit field: 0x80000000..0xffffffff are accepted as their bit pattern, which 64-bit
// operations sign-extend (mov r0, 0xffffffff gives -1); use ldImm64 for wider constants.
function s32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`${what} must fit 32 bits, got ${n}`);
  return n | 0;
}

/**
 * Builds a program instruction by instruction. Jumps name labels placed with label(); build()
 * resolves them (counting ld_imm64 as two slots) and encodes the program.
 */
export class Assembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private slot = 0;

  private emit(i: Insn): this {
    this.insns.push(i);
    this.slot++;
    return this;
  }

  /** Places a label at the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label "${name}" placed twice`);
    this.labels.set(name, this.slot);
    return this;
  }

  /** dst = dst op imm (64-bit); mov and neg included. */
  alu64(op: AluOp, dst: Reg, imm: number): this {
    return this.emit({ code: BPF_ALU64 | ALU_OPS[op] | BPF_K, dst: reg(dst), src: 0, off: 0, imm: s32(imm, 'imm') });
  }

  /** dst = dst op src (64-bit). */
  alu64Reg(op: AluOp, dst: Reg, src: Reg): this {
    return this.emit({ code: BPF_ALU64 | ALU_OPS[op] | BPF_X, dst: reg(dst), src: reg(src), off: 0, imm: 0 });
  }

  /** dst = dst op imm (32-bit, upper half zeroed). */
  alu32(op: AluOp, dst: Reg, imm: number): this {
    return this.emit({ code: BPF_ALU | ALU_OPS[op] | BPF_K, dst: reg(dst), src: 0, off: 0, imm: s32(imm, 'imm') });
  }

  /** dst = imm (a 32-bit immediate, sign-extended). */
  mov(dst: Reg, imm: number): this {
    return this.alu64('mov', dst, imm);
  }

  /** dst = src. */
  movReg(dst: Reg, src: Reg): this {
    return this.alu64Reg('mov', dst, src);
  }

  /** dst = 64-bit constant (the 16-byte ld_imm64). */
  ldImm64(dst: Reg, value: bigint): this {
    const v = BigInt.asUintN(64, value);
    this.emit({ code: BPF_LD | BPF_DW | BPF_IMM, dst: reg(dst), src: 0, off: 0, imm: Number(v & 0xffffffffn) | 0 });
    return this.emit({ code: 0, dst: 0, src: 0, off: 0, imm: Number(v >> 32n) | 0 });
  }

  /** dst = the map open as fd (ld_imm64 with BPF_PSEUDO_MAP_FD; the kernel resolves it at load). */
  ldMapFd(dst: Reg, fd: number): this {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`map fd must be a non-negative integer, got ${fd}`);
    this.emit({ code: BPF_LD | BPF_DW | BPF_IMM, dst: reg(dst), src: BPF_PSEUDO_MAP_FD, off: 0, imm: fd });
    return this.emit({ code: 0, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** dst = *(size *)(src + off). */
  load(size: Size, dst: Reg, src: Reg, off: number): this {
    return this.emit({ code: BPF_LDX | BPF_MEM | SIZES[size], dst: reg(dst), src: reg(src), off: s16(off, 'offset'), imm: 0 });
  }

  /** *(size *)(dst + off) = src. */
  store(size: Size, dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: BPF_STX | BPF_MEM | SIZES[size], dst: reg(dst), src: reg(src), off: s16(off, 'offset'), imm: 0 });
  }

  /** *(size *)(dst + off) = imm (sign-extended to dw). */
  storeImm(size: Size, dst: Reg, off: number, imm: number): this {
    return this.emit({ code: BPF_ST | BPF_MEM | SIZES[size], dst: reg(dst), src: 0, off: s16(off, 'offset'), imm: s32(imm, 'imm') });
  }

  /** Atomically *(size *)(dst + off) += src (size w or dw); fetch: src receives the old value. */
  atomicAdd(size: 'w' | 'dw', dst: Reg, off: number, src: Reg, fetch = false): this {
    return this.emit({
      code: BPF_STX | BPF_ATOMIC | SIZES[size], dst: reg(dst), src: reg(src), off: s16(off, 'offset'),
      imm: BPF_ADD | (fetch ? BPF_FETCH : 0),
    });
  }

  /** if (dst op imm) goto target (64-bit compare). */
  jmp(op: JmpOp, dst: Reg, imm: number, target: string): this {
    return this.emit({ code: BPF_JMP | JMP_OPS[op] | BPF_K, dst: reg(dst), src: 0, off: 0, imm: s32(imm, 'imm'), target });
  }

  /** if (dst op src) goto target (64-bit compare). */
  jmpReg(op: JmpOp, dst: Reg, src: Reg, target: string): this {
    return this.emit({ code: BPF_JMP | JMP_OPS[op] | BPF_X, dst: reg(dst), src: reg(src), off: 0, imm: 0, target });
  }

  /** goto target. */
  ja(target: string): this {
    return this.emit({ code: BPF_JMP | BPF_JA, dst: 0, src: 0, off: 0, imm: 0, target });
  }

  /** Calls a helper: arguments in r1-r5, result in r0; r1-r5 are clobbered. */
  call(helper: HelperName | number): this {
    const id = typeof helper === 'number' ? helper : HELPERS[helper];
    if (id === undefined) throw new RangeError(`unknown helper "${String(helper)}"`);
    return this.emit({ code: BPF_JMP | BPF_CALL, dst: 0, src: 0, off: 0, imm: s32(id, 'helper id') });
  }

  /** Returns r0 from the program. */
  exit(): this {
    return this.emit({ code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** Instructions so far, in 8-byte slots. */
  get length(): number {
    return this.slot;
  }

  /** Encodes the program (8 bytes per slot, little-endian), with every jump resolved. */
  build(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((i, n) => {
      let off = i.off;
      if (i.target !== undefined) {
        const at = this.labels.get(i.target);
        if (at === undefined) throw new Error(`jump to undefined label "${i.target}"`);
        off = s16(at - (n + 1), `jump offset to "${i.target}"`);
      }
      out.writeUInt8(i.code, n * 8);
      out.writeUInt8(((i.src & 0xf) << 4) | (i.dst & 0xf), n * 8 + 1);
      out.writeInt16LE(off, n * 8 + 2);
      out.writeInt32LE(i.imm, n * 8 + 4);
    });
    return out;
  }
}
