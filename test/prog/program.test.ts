import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Assembler } from '../../src/prog/asm.js';
import { BpfProgram, ProgramLoadError } from '../../src/prog/program.js';
import { linuxAvailable } from '../helpers/kernel.js';

test('loads a program and runs it with a repeat count', (t) => {
  if (!linuxAvailable(t)) return;
  const ret = 1000 + Math.floor(Math.random() * 1000);
  using p = BpfProgram.load({ insns: new Assembler().mov(0, ret).exit().build(), name: 'ret_const' });
  const r = p.testRun({ repeat: 1000 });
  assert.equal(r.retval, ret);
  assert.equal(r.runs, 1000);
  assert.ok(r.durationNs >= 0);
});

test('assembled ALU, jump, ld_imm64 and stack instructions compute what the kernel computes', (t) => {
  if (!linuxAvailable(t)) return;
  const a = 1 + Math.floor(Math.random() * 50_000);
  const b = 1 + Math.floor(Math.random() * 50_000);
  const p = new Assembler()
    .mov(1, a).mov(2, b)
    .movReg(0, 1).alu64Reg('mul', 0, 2)        // r0 = a * b
    .jmpReg('jgt', 1, 2, 'skip').alu64Reg('add', 0, 1).label('skip') // + a unless a > b
    .ldImm64(3, (1n << 40n) | 7n).alu64('rsh', 3, 40).alu64Reg('add', 0, 3) // + 1
    .store('dw', 10, -8, 0).mov(0, 0).load('dw', 0, 10, -8) // through the stack
    .alu64('xor', 0, 0x5a5a)
    .exit()
    .build();
  const want = Number((BigInt(a * b + (a > b ? 0 : a) + 1) ^ 0x5a5an) & 0xffffffffn);
  for (const type of ['socket_filter', 'xdp'] as const) {
    using prog = BpfProgram.load({ insns: p, type });
    assert.equal(prog.testRun().retval, want, type);
  }
});

test('a rejected program throws ProgramLoadError with the verifier log', (t) => {
  if (!linuxAvailable(t)) return;
  // r2 is never written: the verifier refuses to read it.
  const insns = new Assembler().movReg(0, 2).exit().build();
  let e: unknown;
  try {
    BpfProgram.load({ insns, name: 'bad_read' });
  } catch (err) {
    e = err;
  }
  assert.ok(e instanceof ProgramLoadError);
  assert.equal(e.command, 'BPF_PROG_LOAD');
  assert.equal(e.code, 'EACCES');
  assert.match(e.verifierLog, /R2 !read_ok/);
  assert.match(e.message, /verifier rejected program "bad_read"[\s\S]*R2 !read_ok/);
});

test('a verifier log longer than the first log buffer is fetched whole', (t) => {
  if (!linuxAvailable(t)) return;
  // Thousands of branches the verifier logs one by one, then a read of an unset register.
  const a = new Assembler().mov(0, 0).mov(3, 0);
  for (let i = 0; i < 3000; i++) a.jmp('jeq', 3, i + 1, `l${i}`).label(`l${i}`).alu64('add', 0, 1);
  const insns = a.movReg(0, 2).exit().build();
  let e: unknown;
  try {
    BpfProgram.load({ insns });
  } catch (err) {
    e = err;
  }
  assert.ok(e instanceof ProgramLoadError);
  assert.ok(e.verifierLog.length > 64 * 1024, `log of ${e.verifierLog.length} bytes`);
  // The log from its start, not a truncated tail: the first instruction is in its first lines.
  assert.match(e.verifierLog.slice(0, 200), /\n0: \(b7\) r0 = 0/);
  assert.match(e.verifierLog, /R2 !read_ok/);
  assert.ok(e.message.length < 4096, 'the message keeps only the end of the log');
});

test('bad program input gives a clear error', (t) => {
  if (!linuxAvailable(t)) return;
  assert.throws(() => BpfProgram.load({ insns: new Uint8Array(0) }), TypeError);
  assert.throws(() => BpfProgram.load({ insns: new Uint8Array(12) }), /8-byte instructions, got 12 bytes/);
  assert.throws(() => BpfProgram.load({ insns: new Assembler().exit().build(), type: 'kprobe' as 'xdp' }), /program type/);
  assert.throws(() => BpfProgram.load({ insns: new Assembler().exit().build(), name: 'has space' }), /program name/);
  assert.throws(() => BpfProgram.load({ insns: new Assembler().exit().build(), name: 'x'.repeat(16) }), /at most 15/);
  const p = BpfProgram.load({ insns: new Assembler().mov(0, 0).exit().build() });
  assert.throws(() => p.testRun({ repeat: 0 }), RangeError);
  assert.throws(() => p.testRun({ repeat: 1.5 }), RangeError);
  assert.throws(() => p.testRun({ data: new Uint8Array(4) }), (e: Error) => /EINVAL/.test(e.message) && /14 bytes/.test(e.message));
  p.close();
  p.close();
  assert.equal(p.closed, true);
  assert.throws(() => p.testRun(), /closed/);
});
