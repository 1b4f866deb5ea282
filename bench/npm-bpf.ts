// entries() with u32/u64 codecs beside the npm `bpf` package's getBatch with the same conversions,
// on the same 1M-entry map. The package goes into a scratch directory under bench/out at bench
// time, never into bpfmap's dependencies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cLoop, nsPerEntry, outDir, pairOf, pairRow, rotate, type Row, stats } from './harness.js';
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
  // bpfmap, the package and the C loop in turn (rotating the order), so that what each adds over
  // the kernel's own cost shows beside the ratio of the totals the target is about.
  const c = (): number => cLoop('lookup-batch', map.id, batch);
  const runs = rotate(reps, [ours, other, c]);
  const [a, b, k] = runs as [number[], number[], number[]];
  const over = (xs: number[]): string => {
    const s = stats(xs.map((x, i) => x - (k[i] as number)));
    return `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
  };
  try {
    // Target: at least twice as fast, a ratio of at most 0.5.
    const row = pairRow('npm-bpf', `entries() u32/u64 hash ${n}, batch ${batch}`, `npm bpf ${VERSION} ConvMap getBatch`,
      pairOf(a, b), 0.5);
    row.note = `C LOOKUP_BATCH loop ${stats(k).median.toFixed(0)} ns/entry in the same rounds; ns/entry over it: bpfmap ${over(a)}, npm bpf ${over(b)}`;
    return [row];
  } finally {
    ref.close();
    if (sink < 0n) throw new Error('unreachable');
  }
}
