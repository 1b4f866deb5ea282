#!/usr/bin/env node
// The package's install script: decides between the prebuilt addon and a source build.
//
// Installed as a dependency, a prebuilt addon in prebuilds/ that fits this machine (platform, arch,
// libc) and loads is kept and nothing is compiled: no C compiler, make or python3 is needed. When
// none fits, or npm is asked to (`npm install --build-from-source`), node-gyp builds it from source.
//
// In the repository (its tsconfig.json is not in the package) the addon is always built from
// source, with warnings as errors: the tests must exercise the C as it stands, and the project's
// own builds keep its code warning-free without a newer compiler's warnings breaking users' installs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const repository = existsSync(new URL('../tsconfig.json', import.meta.url));
const asked = process.env.npm_config_build_from_source;

if (!repository && asked !== 'true' && asked !== 'bpfmap') {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build');
  try {
    const file = nodeGypBuild.path(root);
    require(file);
    console.log(`bpfmap: using the prebuilt native addon ${relative(root, file)}`);
    process.exit(0);
  } catch (e) {
    console.log(`bpfmap: no prebuilt native addon fits this machine (${String(e.message).split('\n')[0]}); building it from source`);
  }
}

// npm names its bundled node-gyp to the scripts it runs; run by hand, the one on PATH is used.
const nodeGyp = process.env.npm_config_node_gyp;
const args = ['rebuild', ...(repository ? ['--', '-Dwerror=1'] : [])];
const r = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    'bpfmap: building the native addon from source failed. It needs a C compiler, make and python3 ' +
      '(Debian: apt-get install build-essential python3); prebuilt addons ship for linux-x64 and linux-arm64 with glibc.',
  );
  process.exit(r.status ?? 1);
}
