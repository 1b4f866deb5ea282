import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { openKernel } from '../../src/kernel/open.js';
import type { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfMap } from '../../src/map/map.js';
import { RingBuffer } from '../../src/map/ringbuf.js';
import { RingProducer } from '../../src/prog/ringbuf-producer.js';
import { CLI, lines, runCli, runMain, unpin } from '../helpers/cli.js';
import { linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap follow', () => {
  test('prints the records a BPF program wrote, as ndjson when piped, and stops after --count', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('follow');
    using rb = RingBuffer.create({ size: 8192 });
    rb.map.pin(path);
    using prod = new RingProducer(rb);
    prod.setPayload(Buffer.from('abcdefgh'));
    try {
      prod.outputRecords(11, { count: 3 });
      prod.reserveRecords(9, { discard: true });
      prod.outputRecords(8);
      const r = await runCli(['follow', 'pinned', path, '--count', '4']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        lines(r.stdout).map((l) => JSON.parse(l) as unknown),
        [
          { len: 11, hex: '0100000000000000616263' },
          { len: 11, hex: '0200000000000000616263' },
          { len: 11, hex: '0300000000000000616263' },
          { len: 8, hex: '0500000000000000' },
        ],
      );
      assert.match(r.stderr, /4 records read .* 1 discarded by the producer/);
      // Decoded by a type of the running kernel's BTF.
      prod.outputRecords(8);
      const typed = await runCli(['follow', 'pinned', path, '--count', '1', '--type', 'u64']);
      assert.equal(typed.code, 0, typed.stderr);
      assert.deepEqual(JSON.parse(lines(typed.stdout)[0] as string), { value: 6 });
    } finally {
      unpin(path);
    }
  });

  test('Ctrl-C ends it with a summary of what was read', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('follow-int');
    using rb = RingBuffer.create({ size: 8192 });
    rb.map.pin(path);
    using prod = new RingProducer(rb);
    try {
      prod.outputRecords(3, { count: 2 });
      const child = spawn(process.execPath, [CLI, 'follow', 'pinned', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      while (lines(out).length < 2) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
      assert.match(err, /2 records read .*; stopped by SIGINT/);
    } finally {
      unpin(path);
    }
  });

  test('on the emulated kernel, and typed errors for what is no ring', async () => {
    const kernel = openKernel('emulated') as EmulatedKernel;
    using rb = RingBuffer.create({ size: 4096, kernel });
    kernel.ringbufOutput(rb.fd, Buffer.from('hi'));
    const r = await runMain(['follow', 'id', String(rb.map.id), '--kernel', 'emulated', '--count', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), ['{"len":2,"hex":"6869"}']);
    using hash = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1, kernel });
    const bad = await runMain(['follow', 'id', String(hash.id), '--kernel', 'emulated']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^bpfmap follow: .*is a hash map, not a ringbuf/);
    const usage = await runMain(['follow', 'id', String(rb.map.id), '--kernel', 'emulated', '--btf-id', '1']);
    assert.equal(usage.code, 2);
  });
});
