import { sectionVariables, type BtfValue, type SectionVariable } from '../btf/codec.js';
import { BtfError } from '../btf/error.js';
import { btfFromId } from '../kernel/btf.js';
import { BpfError } from '../kernel/error.js';
import { BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY } from '../sys/constants.js';
import { MmapError } from '../sys/mmap-error.js';
import { internal } from './internal.js';
import type { BpfMap } from './map.js';

/** A program's global variables by name, as their BTF types decode them. */
export type GlobalValues = { [name: string]: BtfValue };

/** Where a section's bytes are read and written: its mmap'd memory, or element syscalls. */
interface Store {
  /** The section's current bytes (the mapping itself, or a fresh lookup). */
  read(): Buffer;
  /** Writes bytes at offset of the section. */
  write(offset: number, bytes: Buffer): void;
}

function readOnly(map: BpfMap<unknown, unknown>, why: string): never {
  throw new TypeError(`map ${map.name || map.id} is read-only to userspace (${why}): its variables cannot be written`);
}

/**
 * The map's memory (map.memory(), mapped on first use and kept by the map): reads and writes are
 * plain memory accesses, seen by programs at once. Asked for on each access, since freeze() or
 * the emulator remaps it.
 */
function mapped(map: BpfMap<unknown, unknown>, frozen: boolean): Store | undefined {
  try {
    map.memory();
  } catch (e) {
    // Refused altogether (a write-only fd): element syscalls then say what is refused.
    if (e instanceof MmapError) return undefined;
    throw e;
  }
  return {
    read: () => map.memory().bytes,
    write(offset, bytes) {
      const mem = map.memory();
      if (!mem.writable) readOnly(map, frozen ? 'frozen' : 'its memory is mapped read-only');
      bytes.copy(mem.bytes, offset);
    },
  };
}

/** The section through LOOKUP_ELEM and UPDATE_ELEM of key 0: a write reads the section, changes the variable, writes it whole. */
function bySyscalls(map: BpfMap<unknown, unknown>, frozen: boolean): Store {
  const key = Buffer.alloc(4);
  const buf = Buffer.alloc(map.valueSize);
  const { kernel } = map;
  const read = (): Buffer => {
    try {
      kernel.lookup(map.fd, key, buf, 0);
    } catch (e) {
      throw map[internal].annotate(e);
    }
    return buf;
  };
  return {
    read,
    write(offset, bytes) {
      if (frozen) readOnly(map, 'frozen');
      bytes.copy(read(), offset);
      try {
        kernel.update(map.fd, key, buf, 0);
      } catch (e) {
        throw map[internal].annotate(e);
      }
    },
  };
}

/**
 * The global variables of a map whose value is a BTF DATASEC (a program's .bss, .data or
 * .rodata: an array of one element): an object with one property per variable. Reading a
 * property decodes the variable; assigning one encodes it in place, leaving the others as they
 * are. On the real kernel a BPF_F_MMAPABLE map (libbpf makes its global data so) is mapped into
 * memory: no syscall per access, and a program sees a write at once. Elsewhere each access is a
 * lookup (and a write a lookup and an update of the whole section).
 */
export function globalsOf<T extends object>(map: BpfMap<unknown, unknown>): T {
  const info = map.info();
  if (map.type !== BPF_MAP_TYPE_ARRAY || map.keySize !== 4 || info.btfId === 0 || info.btfValueTypeId === 0)
    throw new TypeError(
      `globals(): map ${map.name || map.id} is not global data (an array whose value is a BTF datasec, such as a program's .bss)`,
    );
  let vars: SectionVariable[];
  try {
    vars = sectionVariables(btfFromId(info.btfId, map.kernel), info.btfValueTypeId);
  } catch (e) {
    if (e instanceof BtfError || e instanceof BpfError)
      throw new TypeError(`globals(): map ${map.name || map.id}: ${e.message}`, { cause: e });
    throw e;
  }
  const mmapable = (map.flags & BPF_F_MMAPABLE) !== 0;
  const store = (mmapable ? mapped(map, info.frozen) : undefined) ?? bySyscalls(map, info.frozen);
  const out = {};
  for (const v of vars) {
    const scratch = Buffer.alloc(v.codec.size);
    Object.defineProperty(out, v.name, {
      enumerable: true,
      get: () => v.codec.decode(store.read(), v.offset),
      set(value: BtfValue) {
        v.codec.encode(value, scratch, 0);
        store.write(v.offset, scratch);
      },
    });
  }
  return Object.seal(out) as T;
}
