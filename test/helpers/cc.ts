import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Compiles a C program with the system's cc and runs it with input on stdin, returning its
 * stdout: C itself is the reference for layouts and address formats.
 */
export function runC(source: string, input = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cc-'));
  try {
    const src = join(dir, 'ref.c');
    const bin = join(dir, 'ref');
    writeFileSync(src, source);
    execFileSync('cc', ['-std=gnu11', '-O0', '-Wall', '-Werror', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'] });
    return execFileSync(bin, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
