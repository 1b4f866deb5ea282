import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The built package's entry, as a generated module imports it in a test. */
export const PACKAGE_ENTRY = join(ROOT, 'dist/src/index.js');

/** A directory of TypeScript compiled under strict (and the house's stricter checks), removed by close(). */
export interface Compiled extends Disposable {
  dir: string;
  close(): void;
}

/**
 * Writes files into a fresh directory and compiles them with the project's tsc under strict,
 * noUncheckedIndexedAccess and noUnusedLocals; a type error throws with tsc's output.
 */
export function compileTs(files: Record<string, string>): Compiled {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-tsc-'));
  const close = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    // ES modules, as the package is.
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const args = [
      '--strict',
      '--noUncheckedIndexedAccess',
      '--noUnusedLocals',
      '--noUnusedParameters',
      '--exactOptionalPropertyTypes',
      '--target',
      'ES2022',
      '--lib',
      'ES2022,ESNext.Disposable',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--types',
      'node',
      '--typeRoots',
      join(ROOT, 'node_modules/@types'),
      '--skipLibCheck',
      '--outDir',
      dir,
      ...Object.keys(files).map((f) => join(dir, f)),
    ];
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { encoding: 'utf8', cwd: dir });
    } catch (e) {
      throw new Error(`tsc refused the generated TypeScript:\n${(e as { stdout?: string }).stdout ?? String(e)}`);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { dir, close, [Symbol.dispose]: close };
}
