import type { Kernel } from './kernel.js';
import { EmulatedKernel } from './emulated.js';
import { sharedLinux } from './probe.js';

export { probeLinux, type LinuxProbe } from './probe.js';

/** The kernels openKernel can give: the real one (bpf(2)) or the emulated one. */
export type KernelKind = 'linux' | 'emulated';

let emulated: Kernel | undefined;

/**
 * The kernel to use: `kind`, else BPFMAP_KERNEL, else the real kernel where bpf() works and the
 * emulated one otherwise. Asking for the real kernel where bpf() is refused throws the reason
 * (privileges, missing addon). One shared instance of each kind per process; its `reason` says
 * why it was chosen when it was first opened.
 */
export function openKernel(kind?: KernelKind): Kernel {
  const env = process.env.BPFMAP_KERNEL || undefined;
  const want = kind ?? env;
  if (want !== undefined && want !== 'linux' && want !== 'emulated')
    throw new TypeError(`BPFMAP_KERNEL must be "linux" or "emulated", got "${String(want)}"`);
  const asked = kind !== undefined ? `openKernel('${kind}') asked for it` : `BPFMAP_KERNEL=${String(env)} asked for it`;
  if (want === 'emulated') return (emulated ??= new EmulatedKernel({ reason: asked }));
  const linux = sharedLinux(want === 'linux' ? asked : undefined);
  if (linux.ok) return linux.kernel;
  if (want === 'linux') throw linux.error;
  // The emulator stands in for a kernel this process cannot reach: its errors about paths and
  // ids say so, since the real kernel may well have them.
  return (emulated ??= new EmulatedKernel({ reason: linux.reason, standsIn: true }));
}
