// Other projects' readers beside bpfmap and the raw C loop, in the same rounds, on one 1M-entry
// u32 -> u64 hash (suite peers): libbpf's bpf_map_lookup_batch (C), cilium/ebpf's BatchLookup and
// Iterate (Go), bcc's items_lookup_batch (Python) and the npm `bpf` package. Each reader checks
// that it saw every key once with its value. The peers come from Debian packages, installed with
// apt-get when missing (as root); one that cannot be installed or built is a "skipped" row.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildC, cLoop, outDir, pairOf, pairRow, root, rotate, type Row, skippedRow } from './harness.js';
import { filledHash, type HashMap } from './maps.js';
import { npmBpf } from './npm-bpf.js';

const SUITE = 'peers';
const N = 1_000_000;
const BATCH = 1024;

/** What a reader's process prints: ns per entry of its timed read, and its check of a read after it. */
interface PeerRun {
  median_ns: number;
  entries: number;
  ok: boolean;
  why: string;
}

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** Installs the Debian packages that are missing (as root, with apt-get); undefined, or why they are not there. */
function debian(pkgs: string[]): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v dpkg-query'], { stdio: 'ignore' }).status !== 0) return 'not a Debian system (no dpkg-query)';
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return undefined;
  if (process.getuid?.() !== 0) return `the Debian packages ${missing.join(', ')} are missing (install them as root)`;
  console.error(`peers: installing ${missing.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const still = missing.filter((p) => !installed(p));
  return still.length ? `apt-get could not install ${still.join(', ')}` : undefined;
}

/** Runs a reader's process once: one timed read of the map, then its check. */
function runPeer(cmd: string, args: string[], env?: NodeJS.ProcessEnv): PeerRun {
  return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', env: env ?? process.env })) as PeerRun;
}

/** The Go readers' binary, built offline from Debian's cilium/ebpf sources (GOPATH mode, no module downloads). */
function buildGo(): string {
  const src = join(root, 'bench', 'go', 'peers.go');
  const bin = join(outDir, 'peers-go');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(outDir, { recursive: true });
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: '/usr/share/gocode',
    GOCACHE: join(outDir, 'go-cache'),
    GOFLAGS: '',
    GOPROXY: 'off',
  };
  execFileSync('go', ['build', '-o', bin, src], { stdio: 'inherit', env, cwd: join(root, 'bench', 'go') });
  return bin;
}

/** A reader: how to set it up (undefined when ready, else why not) and one timed read. */
interface Reader {
  what: string;
  setup(): string | undefined;
  read(map: HashMap): PeerRun;
}

function why(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
}

/** An external reader: packages, a build step, and the command that reads map id. */
function external(what: string, pkgs: string[], build: () => string, args: (bin: string, id: number) => [string, string[]]): Reader {
  let bin = '';
  return {
    what,
    setup: () => {
      const missing = debian(pkgs);
      if (missing) return missing;
      try {
        bin = build();
        return undefined;
      } catch (e) {
        return `build failed: ${why(e)}`;
      }
    },
    read: (map) => {
      const [cmd, a] = args(bin, map.id);
      return runPeer(cmd, a);
    },
  };
}

/** Checks an in-process read: every key 0..N-1 once, value == key. */
function check(entries: number, keys: ArrayLike<number>, values: ArrayLike<bigint>): { ok: boolean; why: string } {
  const seen = new Uint8Array(N);
  let bad = 0;
  for (let i = 0; i < entries; i++) {
    const k = keys[i] as number;
    if (k >= N || seen[k] === 1 || values[i] !== BigInt(k)) bad++;
    else seen[k] = 1;
  }
  return { ok: entries === N && bad === 0, why: `${entries} entries, ${bad} wrong or repeated` };
}

function inProcess(
  what: string,
  read: (map: HashMap) => { ns: number; keys: number[] | Uint32Array; values: bigint[] | BigUint64Array },
): Reader {
  return {
    what,
    setup: () => undefined,
    read: (map) => {
      const r = read(map);
      return { median_ns: r.ns, entries: r.keys.length, ...check(r.keys.length, r.keys, r.values) };
    },
  };
}

/** Times fn (which returns its entries) and keeps what it read for the check. */
function timed<T extends { length: number }>(
  fn: () => [T, bigint[] | BigUint64Array],
): { ns: number; keys: T; values: bigint[] | BigUint64Array } {
  const t0 = process.hrtime.bigint();
  const [keys, values] = fn();
  return { ns: Number(process.hrtime.bigint() - t0) / Math.max(keys.length, 1), keys, values };
}

function readers(): Reader[] {
  const go =
    (mode: string) =>
    (bin: string, id: number): [string, string[]] => [bin, [mode, String(id), String(BATCH), String(N), '1']];
  return [
    inProcess(`bpfmap dump(), batch ${BATCH}`, (map) =>
      timed(() => {
        const d = map.dump({ batchSize: BATCH });
        return [d.keyView as Uint32Array, d.valueView as BigUint64Array];
      }),
    ),
    inProcess(`bpfmap [...entries()] with u32/u64 codecs, batch ${BATCH}`, (map) =>
      timed(() => {
        const keys: number[] = [];
        const values: bigint[] = [];
        for (const [k, v] of map.entries({ batchSize: BATCH })) {
          keys.push(k);
          values.push(v);
        }
        return [keys, values];
      }),
    ),
    // No reader in JavaScript can return [key, BigInt] tuples for less than V8 takes to make and
    // keep them: this row is that cost alone, the tuples of a dump already in memory (no syscall).
    inProcess('floor, no syscall: V8 making and keeping [key, BigInt] tuples of a dump already read', (map) => {
      const d = map.dump({ batchSize: BATCH });
      const kv = d.keyView as Uint32Array;
      const vv = d.valueView as BigUint64Array;
      const t0 = process.hrtime.bigint();
      const out: Array<[number, bigint]> = [];
      for (let i = 0; i < kv.length; i++) out.push([kv[i] as number, vv[i] as bigint]);
      const ns = Number(process.hrtime.bigint() - t0) / Math.max(out.length, 1);
      return { ns, keys: out.map((e) => e[0]), values: out.map((e) => e[1]) };
    }),
    external(
      `libbpf bpf_map_lookup_batch (C), batch ${BATCH}`,
      ['libbpf-dev'],
      () => buildC('libbpf', ['-lbpf']),
      (bin, id) => [bin, [String(id), String(BATCH), String(N), '1']],
    ),
    external(
      `cilium/ebpf BatchLookup into Go slices, batch ${BATCH}`,
      ['golang-go', 'golang-github-cilium-ebpf-dev'],
      buildGo,
      go('batch'),
    ),
    external('cilium/ebpf Iterate (GET_NEXT_KEY + LOOKUP_ELEM)', ['golang-go', 'golang-github-cilium-ebpf-dev'], buildGo, go('iterate')),
    external(
      'bcc items_lookup_batch (Python; one call of max_entries)',
      ['python3-bpfcc'],
      () => '/usr/bin/python3',
      (bin, id) => [bin, [join(root, 'bench', 'python', 'bcc_peer.py'), String(id), String(N), '1']],
    ),
    {
      what: `npm bpf ConvMap getBatch, batch ${BATCH}`,
      setup: () => {
        try {
          npmBpf();
          return undefined;
        } catch (e) {
          return `npm install bpf failed: ${why(e)}`;
        }
      },
      read: (map) => {
        const bpf = npmBpf();
        const ref = bpf.openMap(map.id);
        try {
          const u64type = { parse: (b: Buffer) => b.readBigUInt64LE(0), format: (b: Buffer, x: bigint) => void b.writeBigUInt64LE(x, 0) };
          const conv = new bpf.ConvMap(ref, bpf.u32type, u64type);
          const r = timed(() => {
            const keys: number[] = [];
            const values: bigint[] = [];
            for (const entries of conv.getBatch(BATCH))
              for (const [k, v] of entries) {
                keys.push(k);
                values.push(v);
              }
            return [keys, values];
          });
          return { median_ns: r.ns, entries: r.keys.length, ...check(r.keys.length, r.keys, r.values) };
        } finally {
          ref.close();
        }
      },
    },
  ];
}

export function peerRows(reps: number): Row[] {
  using map = filledHash(N);
  const all = readers();
  const rows: Row[] = [];
  const ready: Reader[] = [];
  for (const r of all) {
    const not = r.setup();
    if (not === undefined) ready.push(r);
    else rows.push(skippedRow(SUITE, `${r.what}, hash ${N}`, not));
  }
  const checks = ready.map(() => ({ ok: true, why: '' }));
  // The C loop measures itself; each reader reports its own timed read (a process's start is not in it).
  const c = (): number => cLoop('lookup-batch', map.id, BATCH);
  const readFns = ready.map((r, i) => (): number => {
    const run = r.read(map);
    const k = checks[i] as { ok: boolean; why: string };
    k.ok &&= run.ok;
    k.why = run.why;
    return run.median_ns;
  });
  const runs = rotate(reps, [c, ...readFns]);
  const cRuns = runs[0] as number[];
  ready.forEach((r, i) => {
    const row = pairRow(SUITE, `${r.what}, hash ${N}`, 'C LOOKUP_BATCH loop', pairOf(runs[i + 1] as number[], cRuns));
    const k = checks[i] as { ok: boolean; why: string };
    row.checked = k.ok;
    row.note = `checked: ${k.why}${k.ok ? '' : ' (CHECK FAILED)'}`;
    rows.push(row);
  });
  return rows;
}
