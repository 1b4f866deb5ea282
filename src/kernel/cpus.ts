import { readFileSync } from 'node:fs';

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

let possible: number | undefined;

/** The number of possible CPUs: the count per-CPU map values are laid out for. */
export function possibleCpus(): number {
  possible ??= countCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  return possible;
}
