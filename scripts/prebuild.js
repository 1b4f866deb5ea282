#!/usr/bin/env node
// Builds the prebuilt addons the package ships (npm pack runs this as prepack): one Node-API build
// per architecture, prebuilds/linux-<arch>/bpfmap.napi.glibc.node, which node-gyp-build finds at
// run time; Node-API is ABI-stable, so each serves every Node >= 20. The build runs in a scratch
// copy of the addon's sources, leaving the repository's build/ (what its tests load) alone.
// The architecture that is not the host's is cross-compiled with Debian's gcc-<triple>.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch as hostArch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const prebuildify = promisify(require('prebuildify'));

const root = fileURLToPath(new URL('..', import.meta.url));
// Per architecture: the GNU triple of its cross tools, Debian's name for it, and the ELF e_machine
// its objects carry.
const ARCHS = {
  x64: { triple: 'x86_64-linux-gnu', debian: 'amd64', machine: 62 },
  arm64: { triple: 'aarch64-linux-gnu', debian: 'arm64', machine: 183 },
};

if (process.platform !== 'linux') throw new Error('bpfmap prebuild: the prebuilt addons are built on Linux');
const out = join(root, 'prebuilds');
rmSync(out, { recursive: true, force: true });
const work = mkdtempSync(join(tmpdir(), 'bpfmap-prebuild-'));
try {
  cpSync(join(root, 'binding.gyp'), join(work, 'binding.gyp'));
  cpSync(join(root, 'native'), join(work, 'native'), { recursive: true });
  for (const [arch, { triple, debian, machine }] of Object.entries(ARCHS)) {
    const cross = arch !== hostArch();
    const gcc = cross ? `${triple}-gcc` : 'cc';
    // The compiler and the target's C library headers (Debian ships them apart for cross builds).
    if (spawnSync(gcc, ['-fsyntax-only', '-xc', '-'], { input: '#include <errno.h>\n', stdio: ['pipe', 'ignore', 'ignore'] }).status !== 0) {
      const pkgs = cross ? `gcc-${triple.replace('_', '-')} libc6-dev-${debian}-cross` : 'gcc libc6-dev';
      throw new Error(`bpfmap prebuild: linux-${arch} needs the C compiler ${gcc} and its C library headers (Debian: apt-get install ${pkgs})`);
    }
    // prebuildify hands its environment to node-gyp, whose Makefile takes the compiler and linker from it.
    const tools = cross ? { CC: gcc, CXX: `${triple}-g++`, LINK: gcc, AR: `${triple}-ar` } : {};
    const saved = Object.fromEntries(Object.keys(tools).map((k) => [k, process.env[k]]));
    Object.assign(process.env, tools);
    try {
      await prebuildify({
        cwd: work,
        out: root,
        // prebuildify tags no Node-API build as such; the napi tag tells node-gyp-build it is one.
        name: 'bpfmap.napi',
        napi: true,
        targets: [process.versions.node],
        arch,
        tagLibc: true,
        strip: true,
        stripBin: cross ? `${triple}-strip` : 'strip',
      });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const dir = join(out, `linux-${arch}`);
    for (const name of readdirSync(dir)) {
      const found = elfMachine(join(dir, name));
      if (found !== machine) throw new Error(`bpfmap prebuild: ${dir}/${name} is ELF machine ${found}, not ${machine} (${arch})`);
      console.log(`bpfmap prebuild: prebuilds/linux-${arch}/${name}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** e_machine of an ELF file (little-endian, as both targets are). */
function elfMachine(file) {
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(20);
    readSync(fd, h, 0, 20, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46) return -1;
    return h.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}
