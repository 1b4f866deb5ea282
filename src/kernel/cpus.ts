import { closeSync, readFileSync } from 'node:fs';
import { BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_TYPE_PERCPU_ARRAY } from '../sys/constants.js';
import { sysMapCreate } from '../sys/map-create.js';
import { sysMapLookupElem } from '../sys/map-elem.js';
import { BpfError } from './error.js';

/** Counts the CPUs of a kernel CPU list such as "0-3,5,7-8". */
export function countCpuList(list: string): number {
  let n = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`malformed CPU list "${list.trim()}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`malformed CPU list "${list.trim()}"`);
    n += hi - lo + 1;
  }
  if (n === 0) throw new Error('empty CPU list');
  return n;
}

const POSSIBLE_FILE = '/sys/devices/system/cpu/possible';

/**
 * Where the possible-CPU list is read. BPFMAP_CPU_POSSIBLE_FILE replaces it, as a test seam for a
 * source that under-reports: the count is checked against the kernel's before any per-CPU call.
 */
function possibleFile(): string {
  return process.env.BPFMAP_CPU_POSSIBLE_FILE || POSSIBLE_FILE;
}

let possible: number | undefined;

/**
 * The number of possible CPUs as sysfs lists them (the weight of cpu_possible_mask, libbpf's
 * source). Not checked against the kernel: the emulated kernel's default; LinuxKernel uses
 * checkedPossibleCpus().
 */
export function possibleCpus(): number {
  possible ??= countCpuList(readFileSync(possibleFile(), 'utf8'));
  return possible;
}

/** More per-CPU slots than any kernel has (NR_CPUS is at most 8192): the probe's buffer cannot be overrun. */
const PROBE_SLOTS = 16384;
const SENTINEL = 0xa5;

/**
 * num_possible_cpus() as the kernel itself uses it: a lookup in a fresh per-CPU array copies
 * round_up(value_size, 8) bytes of zeros per possible CPU. Into a buffer far larger than that,
 * filled with a sentinel, the zeroed 8-byte slots count the CPUs.
 */
function kernelPossibleCpus(): number {
  const fd = sysMapCreate({ mapType: BPF_MAP_TYPE_PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, mapFlags: 0 });
  if (fd < 0) throw new BpfError(BPF_MAP_CREATE, -fd, { map: { name: 'possible-CPU probe' } });
  try {
    const value = Buffer.alloc(PROBE_SLOTS * 8, SENTINEL);
    const r = sysMapLookupElem(fd, Buffer.alloc(4), 4, value, value.length, 0);
    if (r < 0) throw new BpfError(BPF_MAP_LOOKUP_ELEM, -r, { map: { name: 'possible-CPU probe' } });
    let n = 0;
    while (n < PROBE_SLOTS && value.readBigUInt64LE(n * 8) === 0n) n++;
    if (n === 0 || n === PROBE_SLOTS || value[n * 8] !== SENTINEL) throw new Error(`the kernel's per-CPU probe returned an unexpected layout (${n} zeroed slots)`);
    return n;
  } finally {
    closeSync(fd);
  }
}

let checked: number | undefined;

/**
 * The possible CPU count per-CPU values are laid out for, once sysfs and the kernel agree on it
 * (checked once per process). When sysfs under-reports, buffers sized from it would let the
 * kernel write past them: per-CPU calls are refused instead.
 */
export function checkedPossibleCpus(): number {
  if (checked !== undefined) return checked;
  const listed = possibleCpus();
  const kernel = kernelPossibleCpus();
  if (kernel !== listed)
    throw new Error(`refusing per-CPU map calls: ${possibleFile()} lists ${listed} possible CPUs but the kernel lays per-CPU values out for ${kernel}; ` +
      'buffers sized from the list would not fit what the kernel writes (is /sys virtualized, e.g. in a container?)');
  checked = kernel;
  return checked;
}
