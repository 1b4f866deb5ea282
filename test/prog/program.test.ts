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

test('bad program input gives a clear error', (t) => {
  if (!linuxAvailable(t)) return;
  assert.throws(() => BpfProgram.load({ insns: new Uint8Array(0) }), TypeError);
  assert.throws(() => BpfProgram.load({ insns: new Uint8Array(12) }), /8-byte instructions, got 12 bytes/);
  assert.throws(() => BpfProgram.load({ insns: new Assembler().exit().build(), type: 'kprobe' as 'xdp' }), /program type/);
  const p = BpfProgram.load({ insns: new Assembler().mov(0, 0).exit().build() });
  assert.throws(() => p.testRun({ repeat: 0 }), RangeError);
  assert.throws(() => p.testRun({ repeat: 1.5 }), RangeError);
  assert.throws(() => p.testRun({ data: new Uint8Array(4) }), (e: Error) => /EINVAL/.test(e.message) && /14 bytes/.test(e.message));
  p.close();
  p.close();
  assert.equal(p.closed, true);
  assert.throws(() => p.testRun(), /closed/);
});
