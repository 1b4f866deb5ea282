import type { Kernel } from '../kernel/kernel.js';
import { BPF_F_RDONLY, BPF_F_WRONLY } from '../sys/constants.js';

/** The id of the map pinned at path, or undefined when it cannot be told (no map there, no access). */
function pinnedMapId(kernel: Kernel, path: string): number | undefined {
  // Read-only first, as a look needs; a map only userspace may write (BPF_F_WRONLY) opens write-only.
  for (const flags of [BPF_F_RDONLY, BPF_F_WRONLY]) {
    let fd: number;
    try {
      fd = kernel.objGet(path, flags);
    } catch {
      continue;
    }
    try {
      return kernel.mapInfo(fd).id;
    } catch {
      return undefined;
    } finally {
      kernel.close(fd);
    }
  }
  return undefined;
}

/**
 * Where each map is pinned: every pin the kernel can show (Kernel.pinPaths: the bpf filesystems
 * mounted here, walked to a bound, or the emulator's pins) opened and asked its map id, as
 * `bpftool -f` does. Pins of programs and links, and pins this process may not open, are left out.
 */
export function pinsByMapId(kernel: Kernel): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const path of kernel.pinPaths().sort()) {
    const id = pinnedMapId(kernel, path);
    if (id === undefined) continue;
    const paths = out.get(id);
    if (paths) paths.push(path);
    else out.set(id, [path]);
  }
  return out;
}
