// The seam's methods that used to leak past it (unpin, the memory figure, the off-thread update),
// on both kernels: the same answers and the same BpfError, whichever kernel it is.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { BPF_F_LOCK, BPF_MAP_TYPE_HASH, BPF_NOEXIST } from '../../src/sys/constants.js';
import { pinPath, testKernels, u32, u64 } from '../helpers/kernel.js';

for (const K of testKernels()) {
  describe(`Kernel seam on ${K.name}`, () => {
    const hash = (maxEntries: number): number =>
      K.kernel().mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries, mapFlags: 0, name: 'seam' });

    test('elemSequence makes its lookups and nextKeys in order and stops at the first ENOENT', (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const fd = hash(8);
      try {
        for (const i of [1, 2, 3]) k.update(fd, u32(i), u64(i * 10), 0);
        // A walk's layout: key slot i looked up into value slot i, then the key after it into slot i + 1.
        const keys = Buffer.alloc(4 * 4);
        const values = Buffer.alloc(3 * 8);
        const calls = [0, 1, 2].flatMap((i) => [
          { op: 'lookup' as const, key: i * 4, out: i * 8 },
          { op: 'nextKey' as const, key: i * 4, out: (i + 1) * 4 },
        ]);
        const seq = k.elemSequence(fd, keys, values, calls, 0);
        assert.equal(k.nextKey(fd, null, keys), true);
        const first = keys.readUInt32LE(0);
        assert.equal(seq.run(), 5, 'three lookups and two nextKeys; the third nextKey finds the end');
        const got = [0, 1, 2].map((i) => [keys.readUInt32LE(i * 4), Number(values.readBigUInt64LE(i * 8))]);
        assert.deepEqual(got.map(([key]) => key).sort(), [1, 2, 3]);
        for (const [key, value] of got) assert.equal(value, (key as number) * 10);
        // The same sequence again, from a key that is gone: its lookup stops the run at once.
        keys.writeUInt32LE(99, 0);
        assert.equal(seq.run(), 0);
        // A nextKey from a key that is gone restarts from the first key.
        const restart = k.elemSequence(fd, keys, values, calls.slice(1, 3), 0);
        assert.equal(restart.run(), 2);
        assert.equal(keys.readUInt32LE(4), first);
        assert.equal(values.readBigUInt64LE(8), BigInt(first * 10));
      } finally {
        k.close(fd);
      }
    });

    test("elemSequence checks its calls when it is made, and a failing call throws its command's error", (t) => {
      if (!K.available(t)) return;
      const k = K.kernel();
      const fd = hash(8);
      let open = true;
      try {
        k.update(fd, u32(1), u64(10), 0);
        const keys = u32(1);
        const values = Buffer.alloc(8);
        const lookup = [{ op: 'lookup' as const, key: 0, out: 0 }];
        assert.throws(
          () => k.elemSequence(fd, keys, values, [{ op: 'lookup', key: 0, out: 4 }], 0),
          /call 0: the value at byte 4 needs 8 bytes/,
        );
        assert.throws(() => k.elemSequence(fd, keys, values, [{ op: 'nextKey', key: 0, out: 1 }], 0), RangeError);
        assert.throws(() => k.elemSequence(fd, keys, values, [{ op: 'lookup', key: -4, out: 0 }], 0), RangeError);
        assert.throws(() => k.elemSequence(fd, keys, values, [], 0), /1 to 65535 calls/);
        assert.throws(
          () => k.elemSequence(fd, keys, values, lookup, 8),
          (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && e.command === 'BPF_MAP_LOOKUP_ELEM',
        );
        // BPF_F_LOCK on a map without a spin lock: the kernel refuses the lookup when it is made.
        const locked = k.elemSequence(fd, keys, values, lookup, BPF_F_LOCK);
        assert.throws(
          () => locked.run(),
          (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && e.command === 'BPF_MAP_LOOKUP_ELEM',
        );
        const seq = k.elemSequence(fd, keys, values, lookup, 0);
        assert.equal(seq.run(), 1);
        k.close(fd);
        open = false;
        assert.throws(
          () => seq.run(),
          (e: unknown) => e instanceof BpfError && e.code === 'EBADF',
        );
      } finally {
        if (open) k.close(fd);
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
