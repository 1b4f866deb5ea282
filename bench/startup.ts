// Whole-process start-up of the CLI, as a shell loop pays it: `bpfmap --help` and `bpfmap list`
// (on the real kernel) beside bare `node -e 0`, run in rotating order. The target is an extra
// cost of at most 100 ms over bare Node: each command also gets a row of its median extra time
// (per repetition: command minus node) against that budget.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { pairOf, root, rotate, stats, type Row } from './harness.js';

const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const BUDGET_MS = 100;

/** Milliseconds of one process run with stdout to /dev/null; throws when it fails. */
function wall(args: string[]): number {
  const devnull = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', devnull, 'pipe'], env: { ...process.env, BPFMAP_KERNEL: 'linux' } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
    return ms;
  } finally {
    closeSync(devnull);
  }
}

export function startupRows(reps: number): Row[] {
  const commands: Array<[string, string[]]> = [
    ['bpfmap --help', [cli, '--help']],
    ['bpfmap list', [cli, 'list']],
  ];
  const [node, ...runs] = rotate(Math.max(reps, 11), [
    () => wall(['-e', '0']),
    ...commands.map(
      ([, args]) =>
        () =>
          wall(args),
    ),
  ]) as [number[], ...number[][]];
  return commands.flatMap(([what], i): Row[] => {
    const mine = runs[i] as number[];
    const extras = mine.map((x, j) => x - (node[j] as number));
    return [
      { ...pairOf(mine, node), suite: 'startup', what: `${what}, whole process`, unit: 'ms', baselineName: 'node -e 0' },
      {
        suite: 'startup',
        what: `${what}: time over node -e 0, per repetition`,
        unit: 'ms',
        bpfmap: stats(extras),
        baselineName: `budget ${BUDGET_MS} ms`,
        baseline: stats([BUDGET_MS]),
        ratio: stats(extras.map((x) => x / BUDGET_MS)),
        target: 1,
      },
    ];
  });
}
