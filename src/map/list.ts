import { BpfError } from '../kernel/error.js';
import type { Kernel, MapInfo } from '../kernel/kernel.js';
import { errno } from '../sys/errno.js';
import { mapFlagNames, mapTypeName } from './types.js';

// Apart from map.ts, so that `bpfmap list` loads neither codecs nor BTF.

/** Everything the kernel says of a map, with its type and flags also by name. */
export interface MapDescription extends MapInfo {
  typeName: string;
  flagNames: string[];
}

export function describeMap(info: MapInfo): MapDescription {
  return { ...info, typeName: mapTypeName(info.type), flagNames: mapFlagNames(info.flags) };
}

/** fn's answer for every map on the system, given an fd of it (closed after) and its info. Maps freed while listing are skipped. */
export function eachMap<T>(kernel: Kernel, fn: (fd: number, info: MapDescription) => T): T[] {
  const out: T[] = [];
  let id = 0;
  for (;;) {
    const next = kernel.nextMapId(id);
    if (next === null) return out;
    id = next;
    let fd: number;
    try {
      fd = kernel.mapFdById(id);
    } catch (e) {
      if (e instanceof BpfError && e.errno === errno.ENOENT) continue;
      throw e;
    }
    try {
      out.push(fn(fd, describeMap(kernel.mapInfo(fd))));
    } finally {
      kernel.close(fd);
    }
  }
}
