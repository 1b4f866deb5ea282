import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { codecFromBtf } from '../../src/btf/codec.js';
import { BtfError } from '../../src/btf/error.js';
import { BtfBuilder, encodeBtf } from '../../src/btf/encode.js';
import { parseBtf } from '../../src/btf/parse.js';
import type { BtfType } from '../../src/btf/types.js';
import { BpfError } from '../../src/kernel/error.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { openKernel } from '../../src/kernel/open.js';
import { prng as rng } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';
import { everyKind } from './fixtures.js';

const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 12, 24, 0x7f, 0xff, 0xffff, 0x10000, 0xfffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** One mutation of a blob: flipped bits, interesting u32s at aligned spots, header edits, cuts, splices. */
function mutate(src: Buffer, r: () => number): Buffer {
  let b = Buffer.from(src);
  const pick = (n: number): number => Math.floor(r() * n);
  const rounds = 1 + pick(4);
  for (let i = 0; i < rounds; i++) {
    switch (pick(7)) {
      case 0: {
        const at = pick(b.length);
        b[at] = (b[at] as number) ^ (1 << pick(8));
        break;
      }
      case 1: {
        const at = pick(b.length >> 2) << 2;
        if (at + 4 <= b.length) b.writeUInt32LE(INTERESTING[pick(INTERESTING.length)] as number, at);
        break;
      }
      case 2: { // header fields: lengths and offsets
        const at = 4 + 4 * pick(6);
        if (at + 4 <= b.length) b.writeUInt32LE(INTERESTING[pick(INTERESTING.length)] as number, at);
        break;
      }
      case 3:
        b = b.subarray(0, pick(b.length));
        break;
      case 4: { // a type's info word: kind, vlen, kind_flag
        const at = 24 + 4 + 12 * pick(20);
        if (at + 4 <= b.length) b.writeUInt32LE(((pick(32) << 24) | pick(0x10000) | (pick(2) << 31)) >>> 0, at);
        break;
      }
      case 5: { // duplicate a slice elsewhere
        const from = pick(b.length);
        const len = pick(64);
        b.copy(b, pick(b.length), from, Math.min(b.length, from + len));
        break;
      }
      default: {
        const at = pick(b.length >> 2) << 2;
        if (at + 4 <= b.length) b.writeUInt32LE(b.readUInt32LE(at) + (pick(2) ? 1 : -1) >>> 0, at);
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

/** A few kernel structs (bitfields, unions, arrays, enums) copied out of vmlinux: a small real blob. */
function fromVmlinux(): Buffer | null {
  const path = '/sys/kernel/btf/vmlinux';
  if (!existsSync(path)) return null;
  const vmlinux = parseBtf(readFileSync(path));
  const b = new BtfBuilder();
  for (const name of ['struct iphdr', 'struct ipv6hdr', 'struct tcphdr', 'struct bpf_spin_lock', 'struct list_head', 'enum bpf_map_type'])
    b.import(vmlinux, vmlinux.get(name));
  return b.build();
}

test('fuzz: thousands of mutated blobs parse or fail with BtfError, never anything else', { timeout: 120_000 }, () => {
  const seeds = [everyKind().build()];
  const head = fromVmlinux();
  if (head) seeds.push(head);
  const r = rng(0x5eed);
  const tries = 6000;
  let parsed = 0;
  let refused = 0;
  let codecs = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < tries; i++) {
    const blob = mutate(seeds[i % seeds.length] as Buffer, r);
    try {
      const btf = parseBtf(blob);
      parsed++;
      // What parses must be usable: every size, name and resolution answers, and it round-trips.
      for (let id = 1; id < btf.count; id++) {
        btf.describe(id);
        btf.resolve(id);
        try {
          btf.sizeOf(id);
          // Whatever a codec decodes, it can encode; after one pass (overlapping members of
          // mutated structs overwrite each other) encoding and decoding are each other's inverse.
          const c = codecFromBtf(btf, id);
          if (c.size > 1 << 16) continue; // mutated sizes can reach GiBs; the property holds regardless
          const bytes = Buffer.from(Array.from({ length: c.size }, () => Math.floor(r() * 256)));
          const once = Buffer.alloc(c.size);
          c.encode(c.decode(bytes, 0), once, 0);
          const v = c.decode(once, 0);
          const twice = Buffer.alloc(c.size);
          c.encode(v, twice, 0);
          assert.deepEqual(c.decode(twice, 0), v);
          codecs++;
        } catch (e) {
          if (!(e instanceof BtfError)) throw e;
        }
      }
      assert.deepEqual(parseBtf(encodeBtf(btf.types.slice(1) as BtfType[])).types, btf.types);
    } catch (e) {
      if (!(e instanceof BtfError)) {
        assert.fail(`blob ${i} (seed 0x5eed): ${(e as Error).stack ?? String(e)}\n${blob.toString('hex')}`);
      }
      refused++;
      const key = e.message.replace(/\d+/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 60);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
  }
  assert.equal(parsed + refused, tries);
  console.log(`fuzz: ${tries} blobs, ${parsed} parsed, ${refused} refused with ${reasons.size} distinct BtfErrors; ${codecs} codecs decoded and re-encoded`);
  // Both outcomes occur: mutations that stay valid and many different ways of being malformed.
  assert.ok(parsed > 0, 'some mutations stay valid');
  assert.ok(codecs > 0, 'codecs were exercised');
  assert.ok(reasons.size >= 15, `only ${reasons.size} distinct errors: ${[...reasons.keys()].join('; ')}`);
});

test('fuzz against the kernel: every mutated blob BTF_LOAD accepts, parseBtf reads too', { timeout: 120_000 }, (t) => {
  if (!linuxAvailable(t)) return;
  const k = openKernel();
  const emu = new EmulatedKernel();
  const seed = everyKind().build();
  const r = rng(0xb7f);
  const tries = 2000;
  let accepted = 0;
  let agree = 0;
  for (let i = 0; i < tries; i++) {
    const blob = mutate(seed, r);
    let kernelOk = false;
    try {
      k.close(k.btfLoad(blob));
      kernelOk = true;
      accepted++;
    } catch (e) {
      if (!(e instanceof BpfError) && !(e instanceof TypeError)) throw e;
    }
    let parsed = true;
    try {
      parseBtf(blob);
    } catch (e) {
      if (!(e instanceof BtfError)) throw e;
      parsed = false;
    }
    if (kernelOk) assert.ok(parsed, `blob ${i} (seed 0xb7f): the kernel loads it, parseBtf refuses it\n${blob.toString('hex')}`);
    let emuOk = false;
    try {
      emu.close(emu.btfLoad(blob));
      emuOk = true;
    } catch (e) {
      if (!(e instanceof BpfError) && !(e instanceof TypeError)) throw e;
    }
    if (emuOk === kernelOk) agree++;
  }
  assert.ok(accepted > 0, 'some mutations stay loadable');
  // The emulator's checks are the parser's plus the kernel's main rules; the kernel has more.
  console.log(`kernel fuzz: ${tries} blobs, ${accepted} loaded by the kernel (all parsed), emulator agrees on ${agree}`);
});
