// The seam's methods that used to leak past it (unpin, the memory figure, the off-thread update),
// on both kernels: the same answers and the same BpfError, whichever kernel it is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { FOUND, MORE } from '../../src/kernel/kernel.js';
import { BPF_MAP_TYPE_HASH, BPF_NOEXIST } from '../../src/sys/constants.js';
import { pinPath, testKernels, u32, u64 } from '../helpers/kernel.js';

for (const K of testKernels()) {
  describe(`Kernel seam on ${K.name}`, () => {
    const hash = (maxEntries: number): number =>
      K.kernel().mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries, mapFlags: 0, name: 'seam' });

    test('lookupNextKey looks a key up and writes the key after it, and says which of the two it found', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const fd = hash(8);
      try {
        for (const i of [1, 2]) k.update(fd, u32(i), u64(i * 10), 0);
        const first = Buffer.alloc(4);
        assert.equal(k.nextKey(fd, null, first), true);
        const value = Buffer.alloc(8);
        const next = Buffer.alloc(4);
        assert.equal(k.lookupNextKey(fd, first, value, 0, next), FOUND | MORE);
        assert.equal(value.readBigUInt64LE(0), BigInt(first.readUInt32LE(0) * 10));
        assert.notEqual(next.readUInt32LE(0), first.readUInt32LE(0));
        assert.equal(k.lookupNextKey(fd, Buffer.from(next), value, 0, next), FOUND, 'the last key: found, no next');
        // A key that is gone: not found, and GET_NEXT_KEY restarts from the first key.
        assert.equal(k.lookupNextKey(fd, u32(99), value, 0, next), MORE);
        assert.deepEqual(next, first);
        assert.throws(
          () => k.lookupNextKey(fd, u32(1), value, 8, next),
          (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && e.command === 'BPF_MAP_LOOKUP_ELEM',
        );
        assert.throws(() => k.lookupNextKey(fd, u32(1), value, 0, Buffer.alloc(3)), RangeError);
      } finally {
        k.close(fd);
      }
    });

    test('unpin removes a pin once: true, then false; the map stays open', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const fd = hash(4);
      const path = pinPath('unpin');
      try {
        k.pin(fd, path);
        assert.equal(k.unpin(path), true);
        assert.equal(k.unpin(path), false);
        assert.throws(
          () => k.objGet(path, 0),
          (e: unknown) => e instanceof BpfError && e.code === 'ENOENT',
        );
        k.update(fd, u32(1), u64(1), 0);
      } finally {
        k.unpin(path);
        k.close(fd);
      }
    });

    test('unpin leaves a file that is no pin alone', (t) => {
      if (!K.available(t)) return;
      const dir = mkdtempSync(join(tmpdir(), 'bpfmap-seam-'));
      try {
        const file = join(dir, 'not-a-pin');
        writeFileSync(file, 'x');
        assert.equal(K.kernel().unpin(file), false);
        assert.ok(existsSync(file));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('mapMemory grows with max_entries', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const small = hash(16);
      const large = hash(4096);
      try {
        const [a, b] = [k.mapMemory(small), k.mapMemory(large)];
        assert.ok(a > 0 && b > a, `memory of 16 entries ${a}, of 4096 entries ${b}`);
        assert.ok(b >= 4096 * 8, `4096 entries of 8-byte values in ${b} bytes`);
      } finally {
        k.close(small);
        k.close(large);
      }
    });

    test('asyncUpdater writes as update does, and rejects with the same BpfError', async (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const fd = hash(4);
      const updater = k.asyncUpdater();
      try {
        await updater.update(fd, u32(7), u64(70), 0);
        const v = Buffer.alloc(8);
        assert.equal(k.lookup(fd, u32(7), v, 0), true);
        assert.equal(v.readBigUInt64LE(0), 70n);
        let sync: unknown;
        try {
          k.update(fd, u32(7), u64(71), BPF_NOEXIST);
        } catch (e) {
          sync = e;
        }
        await assert.rejects(updater.update(fd, u32(7), u64(71), BPF_NOEXIST), (e: unknown) => {
          assert.ok(e instanceof BpfError && sync instanceof BpfError);
          assert.equal(e.message, sync.message);
          return true;
        });
        await assert.rejects(updater.update(fd, u32(8), Buffer.alloc(4), 0), /value must hold 8 bytes/);
      } finally {
        await updater.close();
        k.close(fd);
      }
    });
  });
}
