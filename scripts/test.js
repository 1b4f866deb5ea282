#!/usr/bin/env node
// Runs the whole test suite: builds the TypeScript, makes sure a bpf filesystem is mounted for the
// pinning tests, then runs every compiled *.test.js with node:test. Extra args go to node --test.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// A clean build: tsc never deletes the output of a source that is gone, and a stale test would run.
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });

chmodSync(join(root, 'dist/src/cli/main.js'), 0o755);

function bpffsMounted() {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === '/sys/fs/bpf' && l.split(' ')[2] === 'bpf');
  } catch {
    return false;
  }
}
if (process.platform === 'linux' && !bpffsMounted() && process.getuid?.() === 0) {
  spawnSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'inherit' });
}

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const args = process.argv.slice(2);
const files = args.some((a) => !a.startsWith('-')) ? [] : collect(join(root, 'dist/test'));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...args, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
