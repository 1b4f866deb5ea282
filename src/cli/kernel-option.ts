import type { Kernel } from '../kernel/kernel.js';
import { openKernel, type KernelKind } from '../kernel/open.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/**
 * The kernel a command runs on, from --kernel (a usage error when it names no kernel). When
 * nobody chose (neither --kernel nor BPFMAP_KERNEL in io's environment) and the emulator stands
 * in for a refused real kernel, says so on stderr: its answers (an empty list, "nothing is
 * pinned") are not the real kernel's.
 */
export function kernelFrom(kind: string | undefined, io: Pick<CliIo, 'env' | 'stderr'>): Kernel {
  if (kind !== undefined && kind !== 'linux' && kind !== 'emulated')
    throw new UsageError(`--kernel must be "linux" or "emulated", got "${kind}"`);
  const env = io.env.BPFMAP_KERNEL || undefined;
  // openKernel refuses a BPFMAP_KERNEL that names no kernel.
  const kernel = openKernel((kind ?? env) as KernelKind | undefined);
  if (kernel.kind === 'emulated' && kind === undefined && env === undefined) {
    io.stderr.write(`bpfmap: using the emulated kernel, not the real one, because ${kernel.reason}; ` +
      'choose explicitly with --kernel linux|emulated or BPFMAP_KERNEL=linux|emulated\n');
  }
  return kernel;
}
