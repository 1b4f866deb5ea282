import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LinuxKernel } from '../../src/kernel/linux.js';
import {
  BPF_MAP_GET_NEXT_ID,
  BPF_MAP_GET_NEXT_KEY,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_UPDATE_ELEM,
} from '../../src/sys/constants.js';
import { errno } from '../../src/sys/errno.js';
import { nativeBpf, nativeBpfSequence, nativePipe } from '../../src/sys/native.js';
import { linuxAvailable, u32, u64 } from '../helpers/kernel.js';

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

/** A sequence of element calls at the addon: one 32-byte attr per call, each with its key and value relocations. */
function sequence(fd: number, calls: Array<[cmd: number, key: [number, number, number], value: [number, number, number]]>) {
  const attrs = Buffer.from(new ArrayBuffer(calls.length * 32));
  const cmds = new Uint32Array(calls.map(([cmd]) => cmd));
  const relocs = new Uint32Array(calls.flatMap(([, key, value], i) => [i * 32 + 8, ...key, i * 32 + 16, ...value]));
  calls.forEach((_, i) => attrs.writeUInt32LE(fd, i * 32));
  return { attrs, cmds, relocs };
}

test('native: bpfSequence checks every relocation, before making any call', (t) => {
  if (!linuxAvailable(t)) return;
  const k = new LinuxKernel();
  const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
  try {
    const seq = nativeBpfSequence();
    const keys = u32(7);
    const values = Buffer.alloc(16);
    // An update of key 7 first, then a lookup whose value would end 4 bytes past its buffer.
    const { attrs, cmds, relocs } = sequence(fd, [
      [BPF_MAP_UPDATE_ELEM, [0, 0, 4], [1, 0, 8]],
      [BPF_MAP_LOOKUP_ELEM, [0, 0, 4], [1, 12, 8]],
    ]);
    assert.throws(() => seq(cmds, attrs, 32, relocs, [keys, values]), {
      name: 'RangeError',
      message: /buffer shorter than what the kernel may access/,
    });
    assert.equal(k.lookup(fd, keys, Buffer.alloc(8), 0), false, 'the update before it was not made');
    const good = Uint32Array.from(relocs);
    good[14] = 8;
    const refused = (r: Uint32Array, bufs: Uint8Array[], message: RegExp, c = cmds, a: Uint8Array = attrs, size = 32) =>
      assert.throws(() => seq(c, a, size, r, bufs), message);
    refused(good, [keys], /buffer index out of range/);
    const past = Uint32Array.from(good);
    past[12] = 64; // the second call's key pointer stored past the attrs
    refused(past, [keys, values], /pointer offset outside the attrs/);
    past[12] = 36;
    refused(past, [keys, values], /pointer offset outside the attrs/);
    const wrap = Uint32Array.from(good);
    wrap[14] = 0xffffffff; // an offset + length that wraps around
    refused(wrap, [keys, values], /shorter than what the kernel may access/);
    refused(good.subarray(0, 7), [keys, values], /quadruples/);
    refused(good, [keys, values], /multiple of 8/, cmds, attrs, 12);
    refused(good, [keys, values], /attrs shorter than its calls/, cmds, attrs.subarray(0, 56));
    refused(good, [keys, values], /from 1 to 65535 calls/, new Uint32Array(0));
    refused(good, [keys, new Uint16Array(8) as unknown as Uint8Array], /must be Uint8Arrays/);
    // A buffer over the attrs: a call's write would change a later call's pointers.
    refused(good, [keys, attrs.subarray(40, 56)], /overlaps cmds or attrs/);
    refused(good, [keys, new Uint8Array(cmds.buffer)], /overlaps cmds or attrs/);
    assert.equal(k.lookup(fd, keys, Buffer.alloc(8), 0), false, 'no call was made by any refused sequence');
  } finally {
    k.close(fd);
  }
});

test('native: bpfSequence stops at the first failing call and reports how many succeeded and its errno', (t) => {
  if (!linuxAvailable(t)) return;
  const k = new LinuxKernel();
  const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: 0 });
  try {
    k.update(fd, u32(1), u64(10), 0);
    k.update(fd, u32(3), u64(30), 0);
    const seq = nativeBpfSequence();
    const keys = Buffer.concat([u32(1), u32(2), u32(3)]);
    const values = Buffer.alloc(24, 0xff);
    // Lookups of keys 1, 2 (absent) and 3: the second fails with ENOENT and the third is not made.
    const { attrs, cmds, relocs } = sequence(fd, [
      [BPF_MAP_LOOKUP_ELEM, [0, 0, 4], [1, 0, 8]],
      [BPF_MAP_LOOKUP_ELEM, [0, 4, 4], [1, 8, 8]],
      [BPF_MAP_LOOKUP_ELEM, [0, 8, 4], [1, 16, 8]],
    ]);
    const r = seq(cmds, attrs, 32, relocs, [keys, values]);
    assert.equal(r & 0xffff, 1, 'one call succeeded');
    assert.equal(r >>> 16, errno.ENOENT);
    assert.equal(values.readBigUInt64LE(0), 10n);
    assert.equal(values.readBigUInt64LE(16), 0xffffffffffffffffn, 'the call after the failing one was not made');
    keys.writeUInt32LE(3, 4);
    assert.equal(seq(cmds, attrs, 32, relocs, [keys, values]), 3, 'all three: errno 0');
    assert.equal(values.readBigUInt64LE(16), 30n);
    // No map has fd 0x7ffffff: the first call fails with EBADF.
    const bad = sequence(0x7ffffff, [[BPF_MAP_GET_NEXT_KEY, [0, 0, 4], [0, 4, 4]]]);
    assert.equal(seq(bad.cmds, bad.attrs, 32, bad.relocs, [keys]), errno.EBADF * 65536);
  } finally {
    k.close(fd);
  }
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
