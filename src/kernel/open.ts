import { BPF_MAP_GET_NEXT_ID } from '../sys/constants.js';
import { errno, errnoName } from '../sys/errno.js';
import { sysMapGetNextId } from '../sys/obj-id.js';
import { BpfError } from './error.js';
import type { Kernel } from './kernel.js';
import { EmulatedKernel } from './emulated.js';
import { LinuxKernel } from './linux.js';

export type KernelKind = 'linux' | 'emulated';

/** Whether bpf() works here, and if not, why. */
export type LinuxProbe = { ok: true } | { ok: false; reason: string; error: Error };

/** Asks the kernel for the first map id: harmless, and refused exactly when bpf() is refused. */
export function probeLinux(): LinuxProbe {
  try {
    const r = sysMapGetNextId(0);
    if (r >= 0 || r === -errno.ENOENT) return { ok: true };
    const error = new BpfError(BPF_MAP_GET_NEXT_ID, -r);
    return { ok: false, reason: `bpf() refused: ${errnoName(-r)}`, error };
  } catch (e) {
    return { ok: false, reason: (e as Error).message, error: e as Error };
  }
}

let linux: Kernel | undefined;
let emulated: Kernel | undefined;

/**
 * The kernel to use: `kind`, else BPFMAP_KERNEL, else the real kernel where bpf() works and the
 * emulated one otherwise. Asking for the real kernel where bpf() is refused throws the reason
 * (privileges, missing addon). One shared instance of each kind per process.
 */
export function openKernel(kind?: KernelKind): Kernel {
  const want = kind ?? (process.env.BPFMAP_KERNEL || undefined);
  if (want !== undefined && want !== 'linux' && want !== 'emulated')
    throw new TypeError(`BPFMAP_KERNEL must be "linux" or "emulated", got "${String(want)}"`);
  if (want === 'emulated') return (emulated ??= new EmulatedKernel());
  if (linux) return linux;
  const probe = probeLinux();
  if (probe.ok) return (linux = new LinuxKernel());
  if (want === 'linux') throw probe.error;
  return (emulated ??= new EmulatedKernel());
}
