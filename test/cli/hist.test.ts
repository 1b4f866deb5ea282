import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bucketRange, deltas, histLines } from '../../src/cli/histogram.js';
import { u32 as u32Codec, u64 as u64Codec } from '../../src/codec/int.js';
import { perCpu } from '../../src/codec/percpu.js';
import { struct } from '../../src/codec/struct.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import { CLI, runCli, runMain, tool } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';
import { Tmux } from '../helpers/tmux.js';

/** The rows of printed bars: [low, high, count, stars]. */
function bars(text: string): [number, number, number, number][] {
  return [...text.matchAll(/^ *(\d+) -> (\d+) *: (\d+) *\|(\**) *\|$/gm)].map((m) => [
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    (m[4] as string).length,
  ]);
}

describe('histograms', () => {
  test('log2 and linear bucket ranges; bars scale to the largest count and fit the width', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((i) => bucketRange({ kind: 'log2' }, i)),
      [
        [0n, 0n],
        [1n, 1n],
        [2n, 3n],
        [4n, 7n],
        [512n, 1023n],
      ],
    );
    assert.deepEqual(bucketRange({ kind: 'linear', step: 10, min: 100 }, 2), [120n, 129n]);
    const counts = new Map([
      [2, 5],
      [3, 0],
      [4, 20],
      [6, 1],
    ]);
    for (const columns of [120, 60, 40]) {
      const lines = histLines({ group: '', counts }, { kind: 'log2' }, 'usecs', columns);
      assert.match(lines[0] as string, /^ +usecs +: count +distribution$/);
      for (const l of lines) assert.ok(l.length <= Math.max(columns, 60), `"${l}" fits ${columns} columns`);
      const rows = bars(lines.join('\n'));
      assert.deepEqual(
        rows.map((r) => r.slice(0, 3)),
        [
          [2, 3, 5],
          [4, 7, 0],
          [8, 15, 20],
          [16, 31, 0],
          [32, 63, 1],
        ],
        'from the first count to the last, gaps shown',
      );
      const widest = Math.max(...rows.map((r) => r[3]));
      assert.equal(widest, Math.min(40, columns - 39), 'the largest count fills the bar');
      assert.equal(rows[1]?.[3], 0);
      assert.ok((rows[4]?.[3] ?? 0) >= 1, 'a small count still shows');
    }
    assert.deepEqual(
      [
        ...(deltas(
          [
            {
              group: 'a',
              counts: new Map([
                [1, 5],
                [2, 7],
              ]),
            },
          ],
          [{ group: 'a', counts: new Map([[1, 2]]) }],
        )[0]?.counts ?? []),
      ],
      [
        [1, 3],
        [2, 7],
      ],
    );
  });

  for (const kind of ['linux', 'emulated'] as const) {
    test(`per-CPU counts are summed; groups by key field; raw offsets without BTF (${kind} kernel)`, async (t) => {
      let kernel: Kernel;
      let env: NodeJS.ProcessEnv = {};
      let dir = '';
      if (kind === 'linux') {
        if (!linuxAvailable(t)) return;
        kernel = LINUX.kernel();
      } else {
        dir = mkdtempSync(join(tmpdir(), 'bpfmap-hist-'));
        kernel = new EmulatedKernel({ dir });
        env = { BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir };
      }
      // In a process of its own on the emulated kernel: BPFMAP_EMU_DIR is read from the process's environment.
      const run = kind === 'linux' ? runMain : runCli;
      // The command finds each map by its pin (an emulated map lives on in the store by its pin only).
      const pins: string[] = [];
      const pinned = (m: BpfMap<unknown, unknown>): string => {
        const p = kind === 'linux' ? pinPath('hist') : `/sys/fs/bpf/hist-${pins.length}`;
        m.pin(p);
        pins.push(p);
        return p;
      };
      try {
        using lat = BpfMap.create({ kernel, type: 'percpu_array', key: u32Codec, value: perCpu(u64Codec), maxEntries: 16, btf: true });
        const known = [0, 3, 10, 25, 60, 120, 40, 7];
        known.forEach((n, i) =>
          lat.set(
            i,
            Array.from({ length: lat.cpus }, (_, c) => BigInt(n * (c + 1))),
          ),
        );
        const r = await run(['hist', 'pinned', pinned(lat as BpfMap<unknown, unknown>), '--label', 'usecs'], { env });
        assert.equal(r.code, 0, r.stderr);
        const sums = known.map((n) => (n * lat.cpus * (lat.cpus + 1)) / 2);
        assert.deepEqual(
          bars(r.stdout).map((b) => b[2]),
          sums.slice(1),
          'the counts are the sums over the CPUs',
        );
        assert.deepEqual(
          bars(r.stdout).map((b) => [b[0], b[1]]),
          [
            [1, 1],
            [2, 3],
            [4, 7],
            [8, 15],
            [16, 31],
            [32, 63],
            [64, 127],
          ],
        );
        assert.match(r.stdout, /^ +usecs +: count +distribution$/m);

        const key = struct({ pid: u32Codec, slot: u32Codec }, { name: 'hist_key' });
        using grouped = BpfMap.create({ kernel, type: 'hash', key, value: u64Codec, maxEntries: 64, btf: true });
        for (const pid of [100, 200]) for (let s = 0; s < 5; s++) grouped.set({ pid, slot: s }, BigInt((pid / 100) * (s + 1)));
        const groupedPin = pinned(grouped as BpfMap<unknown, unknown>);
        const g = await run(['hist', 'pinned', groupedPin, '--linear', '10', '--min', '100'], { env });
        assert.equal(g.code, 0, g.stderr);
        const parts = g.stdout.split(/^pid = /m).slice(1);
        assert.deepEqual(
          parts.map((p) => p.split('\n')[0]),
          ['100', '200'],
          'one histogram per pid, the slot field found by name',
        );
        assert.deepEqual(bars(parts[1] as string), [
          [100, 109, 2, 8],
          [110, 119, 4, 16],
          [120, 129, 6, 24],
          [130, 139, 8, 32],
          [140, 149, 10, 40],
        ]);

        using raw = BpfMap.create({ kernel, type: 'hash', keySize: 12, valueSize: 8, maxEntries: 8 });
        const rawPin = pinned(raw as BpfMap<unknown, unknown>);
        const k = Buffer.alloc(12);
        const v = Buffer.alloc(8);
        for (const [slot, n] of [
          [3, 7],
          [5, 1],
        ] as const) {
          k.writeUInt32LE(slot, 4);
          v.writeBigUInt64LE(BigInt(n));
          raw.set(k, v);
        }
        const noBtf = await run(['hist', 'pinned', rawPin], { env });
        assert.equal(noBtf.code, 2);
        assert.match(noBtf.stderr, /has no BTF: give --bucket u32@OFFSET/);
        const byOffset = await run(['hist', 'pinned', rawPin, '--bucket', 'u32@4', '--value', 'u64@0'], { env });
        assert.equal(byOffset.code, 0, byOffset.stderr);
        assert.deepEqual(
          bars(byOffset.stdout).map((b) => [b[0], b[2]]),
          [
            [4, 7],
            [8, 0],
            [16, 1],
          ],
        );
        const bad = await run(['hist', 'pinned', groupedPin, '--bucket', 'nope'], { env });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--bucket nope is not an integer field of struct hist_key \(fields: pid, slot\)/);
      } finally {
        for (const p of pins) kernel.unpin(p);
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('watch --hist redraws the counts of each interval, in a terminal', async (t) => {
    if (!linuxAvailable(t)) return;
    const tmuxPath = tool(t, 'tmux');
    if (!tmuxPath) return;
    using lat = BpfMap.create({
      kernel: LINUX.kernel(),
      type: 'percpu_array',
      key: u32Codec,
      value: perCpu(u64Codec),
      maxEntries: 8,
      btf: true,
    });
    const path = pinPath('hist-watch');
    lat.pin(path);
    try {
      const set = (slot: number, n: number): void =>
        lat.set(
          slot,
          Array.from({ length: lat.cpus }, (_, c) => BigInt(c === 0 ? n : 0)),
        );
      set(3, 100);
      set(4, 50);
      using term = new Tmux(tmuxPath, 70, 30);
      term.type(`node ${CLI} watch pinned ${path} --hist --interval 0.3 --label usecs; echo EXIT=$?`);
      let s = await term.waitFor(/counts so far/);
      assert.deepEqual(
        bars(s).map((b) => [b[0], b[2]]),
        [
          [4, 100],
          [8, 50],
        ],
      );
      for (const line of s.split('\n')) assert.ok(line.trimEnd().length <= 70);
      set(3, 130);
      set(5, 7);
      s = await term.waitFor(/counts in the last 0\.3s[^]*: 30 /);
      assert.deepEqual(
        bars(s).map((b) => [b[0], b[2]]),
        [
          [4, 30],
          [8, 0],
          [16, 7],
        ],
        'the deltas of the interval',
      );
      s = await term.waitFor(/counts in the last 0\.3s[^]*no counts/);
      term.keys('q');
      await term.waitFor(/EXIT=0/);
    } finally {
      rmSync(path, { force: true });
    }
  });
});
