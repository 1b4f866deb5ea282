#!/usr/bin/env node
// Runs the whole test suite: builds the TypeScript, makes sure a bpf filesystem is mounted for the
// pinning tests and (as root) that the tools the tests compare against are installed, then runs
// every compiled *.test.js with node:test. Extra args go to node --test.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// The programs tests drive or compare against, by the Debian package that brings them: bpftool
// (map dumps, BTF, loading programs), clang (BPF programs whose maps the tests read), tmux
// (terminal tests), valgrind (memcheck of the bpf() paths), promtool and prometheus (the
// exporter), the arm64 cross compiler and its C library headers (the package test packs the
// prebuilt arm64 addon). As root, missing ones are installed; otherwise their
// tests skip, except in CI, where they fail.
const TOOLS = [['bpftool', 'bpftool'], ['clang', 'clang'], ['tmux', 'tmux'], ['valgrind', 'valgrind'], ['promtool', 'prometheus'],
  ['aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'], ['/usr/aarch64-linux-gnu/include/errno.h', 'libc6-dev-arm64-cross']];
const have = (cmd) => spawnSync('sh', ['-c', cmd.startsWith('/') ? `test -e ${cmd}` : `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(TOOLS.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg))];
if (missing.length > 0 && process.platform === 'linux' && process.getuid?.() === 0 && have('apt-get')) {
  console.log(`installing the test tools ${missing.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
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
// A fresh emulator store for the run: no test sees pins an earlier run (or the user) left.
const emuDir = mkdtempSync(join(tmpdir(), 'bpfmap-test-run-'));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...args, ...files], { stdio: 'inherit', env: { ...process.env, BPFMAP_EMU_DIR: emuDir } });
rmSync(emuDir, { recursive: true, force: true });
process.exit(r.status ?? 1);
