/** Settings and help texts that several commands share. */
import type { PerCpuMode } from './view.js';

/** Entries per batch syscall in the CLI: fewer syscalls than the library's default, still small buffers. */
export const CLI_BATCH = 4096;

export const FORMAT_HELP = 'table | json | ndjson | csv (default: table on a terminal, ndjson when piped)';
/** How per-CPU values print in every format, unless --percpu says otherwise: each CPU's, losing nothing. */
export const PERCPU_DEFAULT: PerCpuMode = 'each';
export const PERCPU_HELP =
  'per-CPU maps, in every --format: each (default: a "values" list, one per CPU, what load restores exactly) or sum (one "value"; load writes it to CPU 0)';
