/** Settings and help texts that several commands share. */

/** Entries per batch syscall in the CLI: fewer syscalls than the library's default, still small buffers. */
export const CLI_BATCH = 4096;

export const FORMAT_HELP = 'table | json | ndjson | csv (default: table on a terminal, ndjson when piped)';
export const PERCPU_HELP = 'per-CPU maps: each (a "values" list, one per CPU; what load restores) or sum (one "value")';
