import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, lines, runCliClosingEarly, runMain, unpin } from '../helpers/cli.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap, type RawValue } from '../../src/map/map.js';
import { LINUX, linuxAvailable, pinPath, testKernels, u32, u64, type KernelUnderTest } from '../helpers/kernel.js';
import { closeFixture, fixture } from '../helpers/maps.js';

describe('bpfmap drain', () => {
  test('prints every entry once and leaves the map empty', async (t) => {
    if (!linuxAvailable(t)) return;
    for (const type of ['hash', 'percpu_hash'] as const) {
      const f = fixture(LINUX.kernel(), type, 60);
      try {
        const r = await runMain(['drain', 'id', String(f.map.id), '--batch', '7']);
        assert.equal(r.code, 0, r.stderr);
        const got = lines(r.stdout).map((l) => {
          const e = JSON.parse(l) as { key: string; value?: string; values?: string[] };
          return `${e.key}=${e.values ? e.values.join('|') : e.value}`;
        });
        assert.equal(got.length, 60);
        assert.deepEqual(new Set(got), f.expected, type);
        assert.equal(f.map.dump().count, 0, `${type} is empty`);
      } finally {
        closeFixture(f);
      }
    }
  });

  test('a map type without LOOKUP_AND_DELETE_BATCH is an error, and nothing is removed', async (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'array', 5);
    try {
      const r = await runMain(['drain', 'id', String(f.map.id)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^bpfmap drain: BPF_MAP_LOOKUP_AND_DELETE_BATCH on map id \d+ failed: E\w+ \(array maps have no BPF_MAP_LOOKUP_AND_DELETE_BATCH/);
      assert.equal(r.stdout, '');
      assert.equal(f.map.dump().count, 5);
    } finally {
      closeFixture(f);
    }
  });

  test('an output that closes early is an error for drain (the unwritten are put back), not for dump', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = filled(LINUX.kernel(), 100_000);
    const dump = await runCliClosingEarly(['dump', 'id', String(map.id), '--batch', '64']);
    assert.deepEqual(dump, { code: 0, stderr: '' });
    // runCliClosingEarly's stdout is a socket: what it accepted counts as written.
    const drain = await runCliClosingEarly(['drain', 'id', String(map.id), '--batch', '64']);
    assert.equal(drain.code, 1);
    assert.match(drain.stderr, /^bpfmap drain: the output closed after \d+ entr(y was|ies were) written; \d+ entr(y|ies) drained but not written (was|were) put back into id \d+\n$/);
  });

  for (const k of testKernels())
    test(`drain | head -1 on 100,000 entries leaves 99,999, the rest put back (${k.name})`, async (t) => {
      if (!k.available(t)) return;
      const n = k.name === 'linux' ? 100_000 : 10_000;
      await withPinned(k, n, async (path, env, count) => {
        const r = await sh(`{ ${cli()} drain pinned ${path}; echo "exit $?" >&2; } | head -1`, env);
        const printed = lines(r.stdout);
        assert.equal(printed.length, 1);
        assert.match(printed[0] as string, /^\{"key":"[0-9a-f]{8}","value":"[0-9a-f]{16}"\}$/);
        assert.match(r.stderr, /^bpfmap drain: the output closed after 1 entry was written; \d+ entries drained but not written were put back into pinned \S+\nexit 1\n$/);
        assert.equal(count(), n - 1);
      });
    });

  for (const k of testKernels())
    test(`an output that cannot be written is refused before anything is removed (${k.name})`, async (t) => {
      if (!k.available(t)) return;
      await withPinned(k, 500, async (path, env, count) => {
        for (const [redirect, why] of [
          ['> /dev/full', /standard output cannot be written \(ENOSPC\)/],
          ['>&-', /standard output is closed/],
          ['1< /dev/null', /standard output cannot be written \(EBADF\)/],
        ] as const) {
          const r = await sh(`${cli()} drain pinned ${path} ${redirect}`, env);
          assert.equal(r.code, 2, redirect);
          assert.match(r.stderr, why, redirect);
          assert.match(r.stderr, /; nothing was removed from the map/, redirect);
          assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
          assert.equal(count(), 500, redirect);
        }
        // An explicit > /dev/null discards on purpose.
        const r = await sh(`${cli()} drain pinned ${path} > /dev/null`, env);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(count(), 0);
      });
    });

  test('a write that fails part-way (file size limit) puts back exactly what did not reach the file', async (t) => {
    if (!linuxAvailable(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-drain-'));
    try {
      await withPinned(LINUX, 20_000, async (path, env, count) => {
        // 64 blocks of the shell's ulimit unit; SIGXFSZ ignored, so the write fails with EFBIG.
        const out = join(dir, 'out.ndjson');
        const r = await sh(`ulimit -f 64; trap '' XFSZ; ${cli()} drain pinned ${path} > ${out}`, env);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^bpfmap drain: writing the output failed \(EFBIG: [^\n]*\) after \d+ entries were written; \d+ entr(y|ies) drained but not written (was|were) put back into pinned \S+\n$/);
        const text = readFileSync(out, 'utf8');
        const whole = lines(text).filter((l) => l.endsWith('}'));
        const written = Number(/after (\d+) entries/.exec(r.stderr)?.[1]);
        assert.equal(whole.length, written);
        assert.ok(written > 0 && written < 20_000);
        assert.equal(count(), 20_000 - written, 'every entry is in the file or back in the map');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    test(`${signal} stops the drain; what the reader did not take is put back, not left in the pipe`, async (t) => {
      if (!linuxAvailable(t)) return;
      const dir = mkdtempSync(join(tmpdir(), 'bpfmap-drain-'));
      try {
        await withPinned(LINUX, 50_000, async (path, env, count) => {
          const d = drainIntoFifo(path, env, dir);
          const { rd } = d;
          // Take a few lines, and leave the rest unread in the pipe.
          let got = '';
          const buf = Buffer.alloc(64);
          while (lines(got).length < 3) {
            try {
              got += buf.toString('utf8', 0, readSync(rd, buf, 0, buf.length, null));
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
              await sleep(5);
            }
          }
          d.child.kill(signal);
          const code = await d.exited;
          let rest = 0;
          try {
            rest = readSync(rd, Buffer.alloc(1 << 16), 0, 1 << 16, null);
          } catch (e) {
            assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN');
          }
          closeSync(rd);
          assert.equal(rest, 0, 'nothing is left in the pipe');
          const taken = got.split('\n').length - 1;
          assert.equal(code, signal === 'SIGINT' ? 130 : 143);
          assert.match(d.stderr(), new RegExp(`^bpfmap drain: stopped by ${signal} after ${taken} entries were written; \\d+ entr(y|ies) drained but not written (was|were) put back into pinned \\S+\n$`));
          assert.equal(count(), 50_000 - taken);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

  test('entries that cannot be put back are counted with the reason: re-created keys keep their new values, a full map says E2BIG', async (t) => {
    if (!linuxAvailable(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-drain-'));
    const path = pinPath('cli-drain-full');
    try {
      using map = filled(LINUX.kernel(), 50);
      map.pin(path);
      const d = drainIntoFifo(path, {}, dir);
      // One batch removes all 50 (its signal handlers are in place by then); it then waits for the reader to take the first line.
      while (map.dump().count > 0) await sleep(5);
      // Meanwhile a program re-creates 10 of the keys and fills the map with 40 others.
      for (let i = 0; i < 10; i++) map.set(u32(i), u64(1000 + i));
      for (let i = 100; i < 140; i++) map.set(u32(i), u64(i));
      d.child.kill('SIGINT');
      assert.equal(await d.exited, 130);
      closeSync(d.rd);
      assert.equal(d.stderr(), `bpfmap drain: stopped by SIGINT after 0 entries were written; of 50 entries drained but not written, 0 were put back into pinned ${path} ` +
        'and 50 could not be: 10 re-created by a program meanwhile (their new values are kept), 40 failed with E2BIG (lost)\n');
      for (let i = 0; i < 10; i++) assert.deepEqual(map.get(u32(i)), u64(1000 + i));
      assert.equal(map.dump().count, 50);
    } finally {
      unpin(path);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Starts drain pinned path with a fifo in dir as its stdout; rd is the fifo's read end (non-blocking), left unread. */
function drainIntoFifo(path: string, env: NodeJS.ProcessEnv, dir: string): { rd: number; child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const fifo = join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, [CLI, 'drain', 'pinned', path], { env: { ...process.env, ...env }, stdio: ['ignore', wr, 'pipe'] });
  closeSync(wr);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { rd, child, exited, stderr: () => stderr };
}

/** A hash map of n entries (u32 keys 0..n-1). */
function filled(kernel: Kernel, n: number): BpfMap<Buffer, RawValue> {
  const map = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 8, maxEntries: n });
  const keys = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) keys.writeUInt32LE(i, i * 4);
  map.updateBatch({ keys, values: Buffer.alloc(n * 8, 7) });
  return map;
}

/** Runs fn with a map of n entries pinned for the CLI, the environment that finds it, and a count of its entries. */
async function withPinned(k: KernelUnderTest, n: number, fn: (path: string, env: NodeJS.ProcessEnv, count: () => number) => Promise<void>): Promise<void> {
  const path = pinPath('cli-drain');
  if (k.name === 'linux') {
    using map = filled(k.kernel(), n);
    map.pin(path);
    try {
      await fn(path, {}, () => map.dump().count);
    } finally {
      unpin(path);
    }
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-drain-emu-'));
  try {
    {
      using map = filled(new EmulatedKernel({ dir }), n);
      map.pin(path);
    }
    const count = (): number => {
      using m = BpfMap.openPinned(path, { kernel: new EmulatedKernel({ dir }), raw: true });
      return m.dump().count;
    };
    await fn(path, { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir }, count);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function cli(): string {
  return `"${process.execPath}" "${CLI}"`;
}

/** Runs a shell script (stdout and stderr are pipes). */
function sh(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
