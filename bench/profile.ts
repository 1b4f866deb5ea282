// Where the time of a bpfmap read goes: runs one scenario under node --cpu-prof in a child process
// and prints the functions with the most self time. Native code and the kernel have no frame of
// their own: their time counts as the self time of the JavaScript function that called the addon
// (sysMapBatch for batch commands, elemCall for element commands).
// Run: npx tsc -p . && node dist/bench/profile.js per-element|entries|entries-collected|toarray|toarray-u64n|summed-collected|dump|percpu-dump [entries]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap, u32, u64n } from '../src/index.js';
import { filledHash, filledPerCpuHash } from './maps.js';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

const scenarios: Record<string, (n: number) => void> = {
  'per-element': (n) => {
    using map = filledHash(n);
    let sink = 0n;
    for (let r = 0; r < 3; r++) for (const [, v] of map.entries({ mode: 'per-element' })) sink += v;
    if (sink < 0n) throw new Error('unreachable');
  },
  entries: (n) => {
    using map = filledHash(n);
    let sink = 0n;
    for (let r = 0; r < 5; r++) for (const [, v] of map.entries()) sink += v;
    if (sink < 0n) throw new Error('unreachable');
  },
  'entries-collected': (n) => {
    using map = filledHash(n);
    let c = 0;
    for (let r = 0; r < 5; r++) c += [...map.entries()].length;
    if (c < 0) throw new Error('unreachable');
  },
  toarray: (n) => {
    using map = filledHash(n);
    let c = 0;
    for (let r = 0; r < 5; r++) c += map.entries().toArray().length;
    if (c < 0) throw new Error('unreachable');
  },
  'toarray-u64n': (n) => {
    using filled = filledHash(n);
    using map = BpfMap.fromId(filled.id, { key: u32, value: u64n });
    let c = 0;
    for (let r = 0; r < 5; r++) c += map.entries().toArray().length;
    if (c < 0) throw new Error('unreachable');
  },
  'summed-collected': (n) => {
    using map = filledPerCpuHash(n);
    let c = 0;
    for (let r = 0; r < 5; r++) c += [...map.entriesSummed()].length;
    if (c < 0) throw new Error('unreachable');
  },
  dump: (n) => {
    using map = filledHash(n);
    for (let r = 0; r < 5; r++) map.dump();
  },
  'percpu-dump': (n) => {
    using map = filledPerCpuHash(n);
    for (let r = 0; r < 5; r++) map.dump();
  },
};

/** Self time per function, largest first, as "percent  function  file:line". */
export function topSelf(p: CpuProfile, count: number): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const dt = p.timeDeltas[i] ?? 0;
    const key = f ? `${f.functionName || '(anonymous)'}  ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : '?';
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}

const me = fileURLToPath(import.meta.url);
if (process.argv[1] === me) {
  const [scenario = 'per-element', size = '200000', child] = process.argv.slice(2);
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`scenarios: ${Object.keys(scenarios).join(', ')}`);
  if (child === 'child') run(Number(size));
  else {
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-prof-'));
    try {
      execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, me, scenario, size, 'child'], { stdio: 'inherit' });
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (file === undefined) throw new Error('no profile written');
      console.log(`${scenario}, ${size} entries: self time by function`);
      console.log(topSelf(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, 12).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
