import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root: this checkout, as npm would have installed it. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runtimeDeps(name: string | null, seen: Set<string>): void {
  const manifest = name === null ? join(ROOT, 'package.json') : join(ROOT, 'node_modules', name, 'package.json');
  const deps = (JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  for (const d of Object.keys(deps)) {
    if (seen.has(d)) continue;
    seen.add(d);
    runtimeDeps(d, seen);
  }
}

/** chmod -R a+rX: the copy is for other users too, whatever the checkout's umask was. */
function readableByAll(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.mode | (st.isDirectory() || (st.mode & 0o111) !== 0 ? 0o555 : 0o444));
  if (st.isDirectory()) for (const name of readdirSync(path)) readableByAll(join(path, name));
}

export interface PackageCopy {
  root: string;
  /** The copy's CLI, as `npx bpfmap` runs it. */
  cli: string;
  /** The copy's library entry point, for import(). */
  index: string;
  remove(): void;
}

/**
 * What `npm install bpfmap` leaves in node_modules/bpfmap, in a fresh directory any user can read:
 * package.json, the compiled library and its runtime dependencies, and the built addon unless
 * `addon: false` (an install with --ignore-scripts builds none).
 */
export function packageCopy(opts: { addon: boolean }): PackageCopy {
  const root = mkdtempSync(join(tmpdir(), 'bpfmap-pkg-'));
  chmodSync(root, 0o755);
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  cpSync(join(ROOT, 'dist/src'), join(root, 'dist/src'), { recursive: true });
  if (opts.addon) {
    mkdirSync(join(root, 'build/Release'), { recursive: true });
    cpSync(join(ROOT, 'build/Release/bpfmap_native.node'), join(root, 'build/Release/bpfmap_native.node'));
  }
  const deps = new Set<string>();
  runtimeDeps(null, deps);
  for (const d of deps) cpSync(join(ROOT, 'node_modules', d), join(root, 'node_modules', d), { recursive: true });
  readableByAll(root);
  return {
    root,
    cli: join(root, 'dist/src/cli/main.js'),
    index: join(root, 'dist/src/index.js'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
