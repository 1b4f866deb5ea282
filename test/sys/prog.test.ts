import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Assembler } from '../../src/prog/asm.js';
import { BpfProgram } from '../../src/prog/program.js';
import { sysProgTestRun } from '../../src/sys/prog.js';
import { linuxAvailable } from '../helpers/kernel.js';

test('test-run with a zero-length output buffer: nothing is written past it', (t) => {
  if (!linuxAvailable(t)) return;
  const XDP_PASS = 2;
  using p = BpfProgram.load({ insns: new Assembler().mov(0, XDP_PASS).exit().build(), type: 'xdp' });
  // The empty view starts a larger allocation: bytes the kernel must not reach.
  const backing = new Uint8Array(256).fill(0xa5);
  const dataOut = backing.subarray(0, 0);
  const r = sysProgTestRun({ progFd: p.fd, dataIn: new Uint8Array(64).fill(1), dataOut, repeat: 1 });
  assert.equal(r.result, 0);
  assert.equal(r.retval, XDP_PASS);
  assert.ok(backing.every((b) => b === 0xa5), 'the bytes after the empty output buffer are untouched');
});
