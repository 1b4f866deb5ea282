import { readdirSync, readFileSync } from 'node:fs';
import type { Collector } from './exporter.js';
import { family, type Family } from './exposition.js';

// The process_* metrics every Prometheus client library exports (same names, types and units as
// the Go and Python clients and prom-client), so dashboards and alerts for exporters work here too.

/** Field n (1-based, as proc(5) numbers them) of /proc/self/stat; the command name may hold spaces, so fields count from its ')'. */
function statField(stat: string, n: number): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[n - 3]);
  return Number.isFinite(v) ? v : undefined;
}

/** Seconds since the epoch at which the machine booted (btime of /proc/stat). */
function bootTime(): number | undefined {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

/** USER_HZ: the unit of /proc's start times; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/**
 * The process's own metrics: CPU seconds, resident and virtual memory, open and maximum file
 * descriptors, start time. What /proc cannot tell (another OS, a restricted /proc) is left out.
 */
export class ProcessCollector implements Collector {
  private readonly startTime: number;

  constructor() {
    let start: number | undefined;
    try {
      const ticks = statField(readFileSync('/proc/self/stat', 'utf8'), 22);
      const boot = bootTime();
      if (ticks !== undefined && boot !== undefined) start = boot + ticks / CLOCK_TICKS;
    } catch {
      // No /proc: the time this collector was made is a close enough start.
    }
    this.startTime = start ?? Math.floor(Date.now() / 1000 - process.uptime());
  }

  async collect(): Promise<Family[]> {
    const cpu = process.cpuUsage();
    const user = cpu.user / 1e6;
    const system = cpu.system / 1e6;
    const out = [
      family('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', 'counter', [['', user]]),
      family('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', 'counter', [['', system]]),
      family('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', [['', user + system]]),
      family('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', [['', this.startTime]]),
      family('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', [['', process.memoryUsage.rss()]]),
    ];
    try {
      const vsize = statField(readFileSync('/proc/self/stat', 'utf8'), 23);
      if (vsize !== undefined) out.push(family('process_virtual_memory_bytes', 'Virtual memory size in bytes.', 'gauge', [['', vsize]]));
    } catch {
      // no /proc
    }
    try {
      // The directory's own descriptor, open while it is read, is not one of the process's.
      const open = readdirSync('/proc/self/fd').length - 1;
      out.push(family('process_open_fds', 'Number of open file descriptors.', 'gauge', [['', open]]));
    } catch {
      // no /proc
    }
    try {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      if (m) out.push(family('process_max_fds', 'Maximum number of open file descriptors.', 'gauge', [['', Number(m[1])]]));
    } catch {
      // no /proc
    }
    return out;
  }
}
