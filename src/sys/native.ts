import { createRequire } from 'node:module';

/**
 * One bpf(2) call. Each (offset, buffer, mayAccess) triple stores the buffer's address at
 * attr[offset]; the addon refuses a buffer shorter than mayAccess. Returns the syscall's
 * non-negative result, or -errno.
 */
export type BpfCall = (cmd: number, attr: Uint8Array, ...refs: Array<number | Uint8Array | null>) => number;

interface Addon {
  bpf: BpfCall;
}

let addon: Addon | undefined;
let loadError: Error | undefined;

/** The native call, loaded on first use so the emulated kernel works where the addon cannot. */
export function nativeBpf(): BpfCall {
  if (addon) return addon.bpf;
  if (loadError) throw loadError;
  try {
    const require = createRequire(import.meta.url);
    addon = require('../../../build/Release/bpfmap_native.node') as Addon;
    return addon.bpf;
  } catch (e) {
    loadError = new Error(
      `bpfmap: the native bpf() addon is not available (${(e as Error).message}). ` +
        'It is built by `npm install` on Linux; elsewhere use the emulated kernel (BPFMAP_KERNEL=emulated).',
      { cause: e },
    );
    throw loadError;
  }
}

/** Why the addon cannot be loaded (the loader's own error is its cause), or undefined when it loads. */
export function nativeLoadError(): Error | undefined {
  try {
    nativeBpf();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}
