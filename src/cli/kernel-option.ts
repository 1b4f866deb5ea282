import type { Kernel } from '../kernel/kernel.js';
import { openKernel, type KernelKind } from '../kernel/open.js';
import { UsageError } from './errors.js';

export const KERNEL_HELP = 'kernel to use: linux (bpf(2)) or emulated (in-process, pins kept under BPFMAP_EMU_DIR); default: BPFMAP_KERNEL, else linux where bpf() works, else emulated';

let told = false;

/**
 * The kernel a command runs on, from --kernel (a usage error when it names no kernel). When
 * nobody chose and the emulator stands in for a refused real kernel, says so once on stderr: its
 * answers (an empty list, "nothing is pinned") are not the real kernel's.
 */
export function kernelFrom(kind: string | undefined): Kernel {
  if (kind !== undefined && kind !== 'linux' && kind !== 'emulated')
    throw new UsageError(`--kernel must be "linux" or "emulated", got "${kind}"`);
  const kernel = openKernel(kind as KernelKind | undefined);
  const chosen = kind !== undefined || Boolean(process.env.BPFMAP_KERNEL);
  if (kernel.kind === 'emulated' && !chosen && !told) {
    told = true;
    process.stderr.write(`bpfmap: using the emulated kernel, not the real one, because ${kernel.reason}; ` +
      'choose explicitly with --kernel linux|emulated or BPFMAP_KERNEL=linux|emulated\n');
  }
  return kernel;
}
