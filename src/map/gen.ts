import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Btf } from '../btf/btf.js';
import { BtfError } from '../btf/error.js';
import { typescriptModule, type TsMapSpec } from '../btf/typescript.js';
import { btfFromId } from '../kernel/btf.js';
import { BpfError } from '../kernel/error.js';
import type { Kernel } from '../kernel/kernel.js';
import { openKernel } from '../kernel/open.js';
import { impliedKeySize } from './btf.js';
import { BpfMap } from './map.js';

/** Options of generateTypeScript: the module the output imports bpfmap from, and the kernel to read pins with. */
export interface GenerateOptions {
  kernel?: Kernel;
  /** The module the generated file imports bpfmap from (default "bpfmap"). */
  importFrom?: string;
}

function spec(map: BpfMap<unknown, unknown>, name: string, where: string): TsMapSpec {
  const info = map.info();
  let btf: Btf | undefined;
  if (info.btfId !== 0) {
    try {
      btf = btfFromId(info.btfId, map.kernel);
    } catch (e) {
      // Unreadable BTF (privileges): the map's keys and values stay bytes, as when it is opened.
      if (!(e instanceof BpfError || e instanceof BtfError)) throw e;
    }
  }
  return {
    name,
    about: `${info.typeName} map "${info.name}"${where}: ${info.keySize}-byte keys, ${info.valueSize}-byte values, max_entries ${info.maxEntries}.`,
    btf,
    keyTypeId: info.btfKeyTypeId,
    valueTypeId: info.btfValueTypeId,
    keySize: info.keySize,
    valueSize: info.valueSize,
    perCpu: map.perCpu,
    indexKey: info.btfKeyTypeId === 0 && info.keySize === 4 && impliedKeySize(info.type) === 4,
  };
}

/** The maps pinned in dir (not in its subdirectories), by pin name; other objects (programs) are left out. */
function pinnedIn(dir: string, kernel: Kernel): { name: string; map: BpfMap<Buffer, Buffer | Buffer[]> }[] {
  const out: { name: string; map: BpfMap<Buffer, Buffer | Buffer[]> }[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) continue;
    try {
      out.push({ name, map: BpfMap.openPinned(path, { kernel, raw: true, readOnly: true }) });
    } catch (e) {
      if (e instanceof BpfError && e.code === 'EINVAL') continue; // a program or link pinned beside the maps
      for (const o of out) o.map.close();
      throw e;
    }
  }
  return out;
}

/**
 * A TypeScript module with the key and value types and codecs of maps, from their BTF: for the
 * map pinned at path, every map pinned in a directory (named by pin), or the maps given (named
 * by map name). Each map is an exported `{ key, value }` that `BpfMap.openPinned(path, it)`
 * takes with no cast; structs, unions and sections are interfaces, enums unions of their names.
 */
export function generateTypeScript(from: string | readonly BpfMap<unknown, unknown>[], opts: GenerateOptions = {}): string {
  const importFrom = opts.importFrom ?? 'bpfmap';
  if (typeof from !== 'string') {
    if (from.length === 0) throw new TypeError('generateTypeScript: no maps given');
    const specs = from.map((m) => spec(m, m.name || `map_${m.id}`, ''));
    return typescriptModule(specs, { importFrom, source: from.map((m) => `map "${m.name}"`).join(', ') });
  }
  const kernel = opts.kernel ?? openKernel();
  let dir = false;
  try {
    dir = statSync(from).isDirectory();
  } catch {
    // Not a file here (an emulated pin, or nothing): openPinned says which.
  }
  if (!dir) {
    using m = BpfMap.openPinned(from, { kernel, raw: true, readOnly: true });
    return typescriptModule([spec(m, basename(from), `, pinned at ${from}`)], { importFrom, source: `the map pinned at ${from}` });
  }
  const maps = pinnedIn(from, kernel);
  try {
    if (maps.length === 0) throw new Error(`generateTypeScript: no map is pinned in ${from}`);
    const specs = maps.map((m) => spec(m.map, m.name, `, pinned in ${from}`));
    return typescriptModule(specs, { importFrom, source: `the maps pinned in ${from}` });
  } finally {
    for (const m of maps) m.map.close();
  }
}
