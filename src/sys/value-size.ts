/**
 * round_up(value_size, 8): the bytes one CPU's copy of a per-CPU value takes in a syscall buffer
 * (kernel/bpf/syscall.c bpf_map_value_size(), which multiplies it by num_possible_cpus()).
 */
export function roundUpValueSize(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}
