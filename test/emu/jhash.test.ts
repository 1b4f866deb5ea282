import assert from 'node:assert/strict';
import { test } from 'node:test';
import { htabHash, jhash, jhash2 } from '../../src/emu/jhash.js';
import { LinuxKernel } from '../../src/kernel/linux.js';
import { BPF_F_ZERO_SEED, BPF_MAP_TYPE_HASH } from '../../src/sys/constants.js';
import { prng } from '../helpers/differential.js';
import { linuxAvailable } from '../helpers/kernel.js';

test('jhash: nothing to hash leaves the initial value', () => {
  assert.equal(jhash(new Uint8Array(0), 0), 0xdeadbeef);
  assert.equal(jhash2(new Uint8Array(0), 0), 0xdeadbeef);
  assert.equal(jhash(new Uint8Array(0), 1), 0xdeadbef0);
  // On whole words the two variants agree (same initial value, same lanes); jhash2 is the faster one.
  const k = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(jhash(k, 0), jhash2(k, 0));
  assert.notEqual(jhash(k, 0), jhash(k, 1));
  assert.equal(htabHash(k, 0), jhash2(k, 0));
  assert.equal(htabHash(k.subarray(0, 7), 0), jhash(k.subarray(0, 7), 0));
});

test('jhash: each key lands in the bucket the real kernel puts it in, for every key length', (t) => {
  if (!linuxAvailable(t)) return;
  const linux = new LinuxKernel();
  const rng = prng(7);
  const nBuckets = 64;
  for (let keySize = 1; keySize <= 40; keySize++) {
    const fd = linux.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize, valueSize: 1, maxEntries: nBuckets, mapFlags: BPF_F_ZERO_SEED });
    try {
      for (let i = 0; i < 6; i++) {
        const key = Buffer.from(Array.from({ length: keySize }, () => Math.floor(rng() * 256)));
        linux.update(fd, key, Buffer.alloc(1), 0);
        // With one element in the map, a walk from bucket b finds it exactly when its bucket is >= b.
        const bucket = htabHash(key, 0) & (nBuckets - 1);
        const found = (from: number): number => {
          const cursor = Buffer.alloc(Math.max(keySize, 4));
          cursor.writeUInt32LE(from);
          const args = { inBatch: cursor, outBatch: Buffer.alloc(cursor.length), keys: Buffer.alloc(keySize), values: Buffer.alloc(1), count: 1, elemFlags: 0, flags: 0 };
          return linux.lookupBatch(fd, args).count;
        };
        assert.equal(found(bucket), 1, `key ${key.toString('hex')} (${keySize} bytes) in bucket ${bucket}`);
        assert.equal(found(bucket + 1), 0, `key ${key.toString('hex')} (${keySize} bytes) not past bucket ${bucket}`);
        linux.delete(fd, key);
      }
    } finally {
      linux.close(fd);
    }
  }
});
