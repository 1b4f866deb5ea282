import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM } from '../../src/sys/constants.js';
import { errno } from '../../src/sys/errno.js';
import { nativeBpf, nativeBpfPair, nativePipe } from '../../src/sys/native.js';
import { linuxAvailable } from '../helpers/kernel.js';

const attr = () => Buffer.from(new ArrayBuffer(32));

test('native: a harmless call reaches the kernel', (t) => {
  if (!linuxAvailable(t)) return;
  const a = Buffer.from(new ArrayBuffer(12));
  const r = nativeBpf()(BPF_MAP_GET_NEXT_ID, a);
  assert.ok(r === 0 || r === -errno.ENOENT, `unexpected result ${r}`);
});

test('native: refuses a buffer shorter than the kernel may write', () => {
  const bpf = nativeBpf();
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, Buffer.alloc(3), 4, 16, Buffer.alloc(8), 8), {
    name: 'RangeError',
    message: /shorter than what the kernel may write/,
  });
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, Buffer.alloc(4), 4, 16, Buffer.alloc(7), 8), RangeError);
});

test('native: refuses null where the kernel may access bytes', () => {
  assert.throws(() => nativeBpf()(BPF_MAP_LOOKUP_ELEM, attr(), 8, null, 4), /null pointer/);
});

test('native: refuses pointer offsets outside the attr or unaligned', () => {
  const bpf = nativeBpf();
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 32, Buffer.alloc(4), 4), /outside the attr/);
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 4, Buffer.alloc(4), 4), /outside the attr/);
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 28, Buffer.alloc(4), 4), /outside the attr/);
});

test('native: refuses wrong argument shapes', () => {
  const bpf = nativeBpf() as unknown as (...a: unknown[]) => number;
  assert.throws(() => bpf(), TypeError);
  assert.throws(() => bpf(1), TypeError);
  assert.throws(() => bpf(1, attr(), 8), /argument count/);
  assert.throws(() => bpf(-1, attr()), /cmd must be a u32/);
  assert.throws(() => bpf(1.5, attr()), /cmd must be a u32/);
  assert.throws(() => bpf(1, 'attr'), /attr must be/);
  assert.throws(() => bpf(1, new Uint8Array(0)), /attr must be/);
  assert.throws(() => bpf(1, new Uint16Array(8)), /attr must be/);
  assert.throws(() => bpf(1, attr(), 8, 'x', 4), /Uint8Array/);
  assert.throws(() => bpf(1, attr(), 8, Buffer.alloc(4), -1), /u32/);
  assert.throws(() => bpf(1, attr(), Number.NaN, Buffer.alloc(4), 4), /u32/);
  assert.throws(() => bpf(1, Buffer.from(new ArrayBuffer(40)).subarray(1, 33)), /aligned/);
  assert.throws(() => bpf(1, Buffer.from(new ArrayBuffer(8192))), /larger than a page/);
});

test('native: nested pointers go inside the previous buffer, checked like the others', () => {
  const bpf = nativeBpf();
  const NESTED = 0x80000000;
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), NESTED, Buffer.alloc(8), 8), /nested pointer without a previous buffer/);
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, Buffer.alloc(16), 16, NESTED + 16, Buffer.alloc(4), 4), /outside the attr/);
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, Buffer.alloc(16), 16, NESTED + 4, Buffer.alloc(4), 4), /outside the attr/);
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, Buffer.alloc(16), 16, NESTED + 8, Buffer.alloc(2), 4), /shorter/);
});

test('native: pointers are a Uint8Array, or null/undefined where the kernel touches no byte', () => {
  const bpf = nativeBpf() as unknown as (...a: unknown[]) => number;
  for (const bad of [new Uint16Array(4), new DataView(new ArrayBuffer(8)), {}, 7, 'x', true])
    assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, bad, 4), { name: 'TypeError', message: /Uint8Array/ });
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, undefined, 4), /null pointer/);
  // A buffer whose memory was handed elsewhere (detached) has no bytes left for the kernel.
  const ab = new ArrayBuffer(8);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  assert.throws(() => bpf(BPF_MAP_LOOKUP_ELEM, attr(), 8, view, 4), { name: 'RangeError', message: /shorter/ });
});

test('native: null and undefined pointers store address 0', (t) => {
  if (!linuxAvailable(t)) return;
  const a = attr();
  a.fill(0xff, 8, 16);
  a.fill(0xff, 16, 24);
  // fd -1: the kernel refuses with EBADF after the addon wrote both pointers.
  a.writeInt32LE(-1, 0);
  const bpf = nativeBpf() as unknown as (...args: unknown[]) => number;
  assert.equal(bpf(BPF_MAP_LOOKUP_ELEM, a, 8, null, 0, 16, undefined, 0), -errno.EBADF);
  assert.equal(a.readBigUInt64LE(8), 0n);
  assert.equal(a.readBigUInt64LE(16), 0n);
});

test('native: an empty buffer is passed as a null pointer, whatever memory it views', () => {
  const a = attr();
  const backing = new Uint8Array(64);
  // An invalid command: the kernel reads nothing, and the attr shows what the addon stored.
  const r = nativeBpf()(0xffff, a, 8, backing.subarray(16, 16), 0, 16, backing.subarray(16, 17), 0);
  assert.ok(r < 0);
  assert.equal(a.readBigUInt64LE(8), 0n, 'an empty view is no buffer');
  assert.notEqual(a.readBigUInt64LE(16), 0n, 'a one-byte view is a buffer');
});

test('native: bpfPair checks both calls before making either, and refuses overlapping attrs', () => {
  const pair = nativeBpfPair() as unknown as (...a: unknown[]) => number;
  const k = Buffer.alloc(4);
  const v = Buffer.alloc(8);
  const ok = [BPF_MAP_LOOKUP_ELEM, attr(), 8, k, 4, 16, v, 8];
  // A bad second call: nothing is called (an fd of 0xffffff would have failed with EBADF otherwise).
  assert.throws(() => pair(...ok, BPF_MAP_GET_NEXT_KEY, attr(), 8, k, 4, 16, Buffer.alloc(3), 4), /shorter than what the kernel may write/);
  assert.throws(() => pair(BPF_MAP_LOOKUP_ELEM, attr(), 8, k, 4, 16, null, 8, ...ok), /null pointer/);
  assert.throws(() => pair(...ok), /two calls/);
  assert.throws(() => pair(...ok, ...ok, 0), /two calls/);
  const shared = attr();
  assert.throws(() => pair(BPF_MAP_LOOKUP_ELEM, shared, 8, k, 4, 16, v, 8, BPF_MAP_GET_NEXT_KEY, shared, 8, k, 4, 16, k, 4), /overlap/);
  const whole = Buffer.from(new ArrayBuffer(64));
  assert.throws(() => pair(BPF_MAP_LOOKUP_ELEM, whole.subarray(0, 32), 8, k, 4, 16, v, 8, BPF_MAP_GET_NEXT_KEY, whole.subarray(24, 56), 8, k, 4, 16, k, 4), /overlap/);
});

test('native: bpfPair makes both calls and answers both errnos', (t) => {
  if (!linuxAvailable(t)) return;
  const pair = nativeBpfPair() as unknown as (...a: unknown[]) => number;
  const a = attr();
  const b = attr();
  // No map has fd 0x7ffffff: each call fails with EBADF, and both are reported.
  a.writeUInt32LE(0x7ffffff, 0);
  b.writeUInt32LE(0x7ffffff, 0);
  const k = Buffer.alloc(4);
  const r = pair(BPF_MAP_LOOKUP_ELEM, a, 8, k, 4, 16, Buffer.alloc(8), 8, BPF_MAP_GET_NEXT_KEY, b, 8, k, 4, 16, Buffer.alloc(4), 4);
  assert.equal(r & 4095, errno.EBADF);
  assert.equal(r >>> 12, errno.EBADF);
});

test('native: unread (FIONREAD) and pollOut tell what a pipe holds and when its reader is gone', (t) => {
  if (!linuxAvailable(t)) return;
  const pipe = nativePipe() ?? assert.fail('the addon has unread and pollOut');
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-native-'));
  try {
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wr = openSync(fifo, constants.O_WRONLY);
    assert.equal(pipe.unread(wr), 0);
    writeSync(wr, 'hello');
    assert.equal(pipe.unread(wr), 5);
    assert.equal(readSync(rd, Buffer.alloc(2), 0, 2, null), 2);
    assert.equal(pipe.unread(wr), 3);
    const POLLOUT = 4;
    const POLLERR = 8;
    assert.equal(pipe.pollOut(wr, 0) & (POLLOUT | POLLERR), POLLOUT);
    closeSync(rd);
    assert.equal(pipe.pollOut(wr, 0) & POLLERR, POLLERR, 'no reader is left');
    assert.equal(pipe.unread(wr), 3, 'what the reader left is still counted');
    closeSync(wr);
    assert.equal(pipe.unread(wr), -errno.EBADF);
    assert.throws(() => pipe.unread(-1), TypeError);
    assert.throws(() => pipe.pollOut(1, 60_001), TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
