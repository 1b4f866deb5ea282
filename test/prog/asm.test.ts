import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Assembler, BPF_PSEUDO_MAP_FD, type Reg } from '../../src/prog/asm.js';

function insn(buf: Buffer, n: number): { code: number; dst: number; src: number; off: number; imm: number } {
  const b = n * 8;
  return { code: buf[b] as number, dst: (buf[b + 1] as number) & 0xf, src: (buf[b + 1] as number) >> 4, off: buf.readInt16LE(b + 2), imm: buf.readInt32LE(b + 4) };
}

test('encodes each instruction family in the uapi layout', () => {
  const p = new Assembler()
    .mov(1, -7)              // BPF_ALU64|BPF_MOV|BPF_K
    .alu32('mod', 0, 16)     // BPF_ALU|BPF_MOD|BPF_K
    .store('w', 10, -4, 0)   // BPF_STX|BPF_MEM|BPF_W
    .storeImm('dw', 10, -16, 0)
    .load('dw', 3, 0, 8)
    .atomicAdd('dw', 0, 0, 1)
    .call('map_lookup_elem')
    .exit()
    .build();
  assert.equal(p.length, 8 * 8);
  assert.deepEqual(insn(p, 0), { code: 0xb7, dst: 1, src: 0, off: 0, imm: -7 });
  assert.deepEqual(insn(p, 1), { code: 0x94, dst: 0, src: 0, off: 0, imm: 16 });
  assert.deepEqual(insn(p, 2), { code: 0x63, dst: 10, src: 0, off: -4, imm: 0 });
  assert.deepEqual(insn(p, 3), { code: 0x7a, dst: 10, src: 0, off: -16, imm: 0 });
  assert.deepEqual(insn(p, 4), { code: 0x79, dst: 3, src: 0, off: 8, imm: 0 });
  assert.deepEqual(insn(p, 5), { code: 0xdb, dst: 0, src: 1, off: 0, imm: 0 });
  assert.deepEqual(insn(p, 6), { code: 0x85, dst: 0, src: 0, off: 0, imm: 1 });
  assert.deepEqual(insn(p, 7), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
});

test('ld_imm64 takes two slots: map fds and 64-bit constants', () => {
  const p = new Assembler().ldMapFd(1, 9).ldImm64(2, 0x1122334455667788n).build();
  assert.equal(p.length, 4 * 8);
  assert.deepEqual(insn(p, 0), { code: 0x18, dst: 1, src: BPF_PSEUDO_MAP_FD, off: 0, imm: 9 });
  assert.deepEqual(insn(p, 1), { code: 0, dst: 0, src: 0, off: 0, imm: 0 });
  assert.equal(p.readUInt32LE(2 * 8 + 4), 0x55667788);
  assert.equal(p.readUInt32LE(3 * 8 + 4), 0x11223344);
});

test('jumps resolve to labels in slots, ld_imm64 counting twice, backwards too', () => {
  const p = new Assembler()
    .label('top')
    .jmp('jeq', 0, 0, 'end') // slot 0 -> slot 4: off 3
    .ldImm64(1, 1n)          // slots 1-2
    .ja('top')               // slot 3 -> slot 0: off -4
    .label('end')
    .exit()
    .build();
  assert.equal(insn(p, 0).off, 3);
  assert.equal(insn(p, 0).code, 0x15);
  assert.equal(insn(p, 3).off, -4);
});

test('bad operands are errors before anything reaches the kernel', () => {
  assert.throws(() => new Assembler().mov(11 as Reg, 0), /r0\.\.r10/);
  assert.throws(() => new Assembler().store('w', 10, 0x8000, 1), /s16/);
  assert.throws(() => new Assembler().mov(0, 2 ** 33), /32 bits/);
  assert.throws(() => new Assembler().ja('nowhere').build(), /undefined label "nowhere"/);
  assert.throws(() => new Assembler().label('a').label('a'), /placed twice/);
  assert.throws(() => new Assembler().ldMapFd(1, -1), /map fd/);
});
