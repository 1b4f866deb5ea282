import { BPF_MAP_GET_NEXT_ID } from '../sys/constants.js';
import { errno, errnoName } from '../sys/errno.js';
import { nativeLoadError } from '../sys/native.js';
import { sysMapGetNextId } from '../sys/obj-id.js';
import { BpfError } from './error.js';
import type { Kernel } from './kernel.js';
import { LinuxKernel } from './linux.js';

// Apart from open.ts, which also makes the emulator: whoever wants the real kernel (the CLI's
// `list`) need not load the emulator to get it.

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
    const reason =
      `the native bpf() addon could not be loaded (${firstLine(addon.cause ?? addon)}): ` +
      'build it with `npm rebuild bpfmap` (an install with --ignore-scripts skips it)';
    return { ok: false, reason, error: addon };
  }
  try {
    const r = sysMapGetNextId(0);
    if (r >= 0 || r === -errno.ENOENT) return { ok: true };
    const error = new BpfError(BPF_MAP_GET_NEXT_ID, -r);
    const name = errnoName(-r);
    const reason =
      name === 'EPERM' || name === 'EACCES'
        ? `bpf() was refused with ${name}: it needs root or CAP_BPF`
        : name === 'ENOSYS'
          ? 'this kernel has no bpf() syscall (ENOSYS)'
          : `bpf() failed with ${name}`;
    return { ok: false, reason, error };
  } catch (e) {
    return { ok: false, reason: firstLine(e), error: e as Error };
  }
}

let linux: Kernel | undefined;

/**
 * The process's one LinuxKernel (openKernel's), made when bpf() works here, else the probe's
 * failure. asked: what asked for the real kernel, for its reason (undefined: nobody did).
 */
export function sharedLinux(asked: string | undefined): { ok: true; kernel: Kernel } | Extract<LinuxProbe, { ok: false }> {
  if (!linux) {
    const probe = probeLinux();
    if (!probe.ok) return probe;
    linux = new LinuxKernel({ reason: asked ?? 'bpf() works here' });
  }
  return { ok: true, kernel: linux };
}
