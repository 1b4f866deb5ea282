import type { Kernel } from '../kernel/kernel.js';
import { openKernel, type KernelKind } from '../kernel/open.js';
import { UsageError } from './errors.js';

export const KERNEL_HELP = 'kernel to use: linux (bpf(2)) or emulated (in-process, pins kept under BPFMAP_EMU_DIR); default: BPFMAP_KERNEL, else linux where bpf() works, else emulated';

/** The kernel a command runs on, from --kernel (a usage error when it names no kernel). */
export function kernelFrom(kind: string | undefined): Kernel {
  if (kind !== undefined && kind !== 'linux' && kind !== 'emulated')
    throw new UsageError(`--kernel must be "linux" or "emulated", got "${kind}"`);
  return openKernel(kind as KernelKind | undefined);
}
