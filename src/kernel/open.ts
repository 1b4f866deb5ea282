import { BPF_MAP_GET_NEXT_ID } from '../sys/constants.js';
import { errno, errnoName } from '../sys/errno.js';
import { nativeLoadError } from '../sys/native.js';
import { sysMapGetNextId } from '../sys/obj-id.js';
import { BpfError } from './error.js';
import type { Kernel } from './kernel.js';
import { EmulatedKernel } from './emulated.js';
import { LinuxKernel } from './linux.js';

/** The kernels openKernel can give: the real one (bpf(2)) or the emulated one. */
export type KernelKind = 'linux' | 'emulated';

/** Whether bpf() works here, and if not, why (reason: a clause a user can act on). */
export type LinuxProbe = { ok: true } | { ok: false; reason: string; error: Error };

/** The first line of an error's message (a require error appends its whole stack of importers). */
function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
}

/** Asks the kernel for the first map id: harmless, and refused exactly when bpf() is refused. */
export function probeLinux(): LinuxProbe {
  const addon = nativeLoadError();
  if (addon) {
    const reason = `the native bpf() addon could not be loaded (${firstLine(addon.cause ?? addon)}): ` +
      'build it with `npm rebuild bpfmap` (an install with --ignore-scripts skips it)';
    return { ok: false, reason, error: addon };
  }
  try {
    const r = sysMapGetNextId(0);
    if (r >= 0 || r === -errno.ENOENT) return { ok: true };
    const error = new BpfError(BPF_MAP_GET_NEXT_ID, -r);
    const name = errnoName(-r);
    const reason = name === 'EPERM' || name === 'EACCES'
      ? `bpf() was refused with ${name}: it needs root or CAP_BPF`
      : name === 'ENOSYS' ? 'this kernel has no bpf() syscall (ENOSYS)' : `bpf() failed with ${name}`;
    return { ok: false, reason, error };
  } catch (e) {
    return { ok: false, reason: firstLine(e), error: e as Error };
  }
}

let linux: Kernel | undefined;
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
  if (linux) return linux;
  const probe = probeLinux();
  if (probe.ok) return (linux = new LinuxKernel({ reason: want === 'linux' ? asked : 'bpf() works here' }));
  if (want === 'linux') throw probe.error;
  // The emulator stands in for a kernel this process cannot reach: its errors about paths and
  // ids say so, since the real kernel may well have them.
  return (emulated ??= new EmulatedKernel({ reason: probe.reason, standsIn: true }));
}
