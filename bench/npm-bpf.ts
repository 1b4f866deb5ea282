// entries() with u32/u64 codecs beside the npm `bpf` package's getBatch with the same conversions,
// on the same 1M-entry map. The package goes into a scratch directory under bench/out at bench
// time, never into bpfmap's dependencies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { interleave, nsPerEntry, outDir, pairRow, type Row } from './harness.js';
import { filledHash } from './maps.js';

const VERSION = '1.3.0';

interface Conversion<X> {
  parse(buf: Buffer): X;
  format(buf: Buffer, x: X): void;
}
interface NpmBpf {
  openMap(id: number): { close(): void };
  u32type: Conversion<number>;
  ConvMap: new <K, V>(ref: unknown, k: Conversion<K>, v: Conversion<V>) => { getBatch(batchSize: number): Iterable<Array<[K, V]>> };
}

/** The npm bpf package, installed into bench/out/npm-bpf when missing. */
export function npmBpf(): NpmBpf {
  const dir = join(outDir, 'npm-bpf');
  if (!existsSync(join(dir, 'node_modules', 'bpf', 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "name": "bpfmap-bench-scratch", "private": true }\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', `bpf@${VERSION}`], { cwd: dir, stdio: 'inherit' });
  }
  return createRequire(join(dir, 'package.json'))('bpf') as NpmBpf;
}

export function npmBpfRows(reps: number): Row[] {
  const bpf = npmBpf();
  const n = 1_000_000;
  const batch = 1024;
  using map = filledHash(n);
  const ref = bpf.openMap(map.id);
  const u64type: Conversion<bigint> = { parse: (b) => b.readBigUInt64LE(0), format: (b, x) => void b.writeBigUInt64LE(x, 0) };
  const theirs = new bpf.ConvMap(ref, bpf.u32type, u64type);
  let sink = 0n;
  const ours = nsPerEntry(() => {
    let c = 0;
    for (const [, v] of map.entries({ batchSize: batch })) {
      sink += v;
      c++;
    }
    return c;
  });
  const other = nsPerEntry(() => {
    let c = 0;
    for (const entries of theirs.getBatch(batch))
      for (const [, v] of entries) {
        sink += v;
        c++;
      }
    return c;
  });
  try {
    // Target: at least twice as fast, a ratio of at most 0.5.
    return [pairRow('npm-bpf', `entries() u32/u64 hash ${n}, batch ${batch}`, `npm bpf ${VERSION} ConvMap getBatch`, interleave(reps, ours, other), 0.5)];
  } finally {
    ref.close();
    if (sink < 0n) throw new Error('unreachable');
  }
}
