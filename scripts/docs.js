#!/usr/bin/env node
// Builds the API reference (docs/api/index.html) from the doc comments of what src/index.ts
// exports, with TypeDoc. TypeDoc lives in docs/ as a package of its own: it needs a TypeScript
// with a compiler API (5.x), and bpfmap builds with TypeScript 7. Its packages are installed
// there on first use. Any TypeDoc warning (an undocumented export, a broken link) fails the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const docs = new URL('../docs/', import.meta.url).pathname;
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: docs, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!existsSync(join(docs, 'node_modules/typedoc/package.json'))) run('npm', ['ci', '--no-audit', '--no-fund']);
run(process.execPath, [join(docs, 'node_modules/typedoc/bin/typedoc'), '--options', 'typedoc.json', ...process.argv.slice(2)]);
