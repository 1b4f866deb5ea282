import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BindError } from '../export/bind.js';
import { ConfigError, DEFAULT_BATCH_SIZE, parseConfig } from '../export/config.js';
import { Exporter, type Collector } from '../export/exporter.js';
import { render, type Family, type Format } from '../export/exposition.js';
import { ProcessCollector } from '../export/process.js';
import type { Kernel } from '../kernel/kernel.js';
import { MapsCollector } from '../export/maps.js';
import { DEFAULT_LIMITS, MetricsServer, parseListen } from '../export/server.js';
import { integer, newCommand, withKernel } from './command.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';

export const DEFAULT_LISTEN = '127.0.0.1:9435';

/** Files the exporter needs besides its connections: node's own, and the maps and BTF of a scrape. */
const RESERVED_FILES = 32;

/** The soft limit on open files (ulimit -n), or undefined when unknown or unlimited. */
function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface ExportOptions {
  config?: string;
  maps?: boolean;
  listen: string;
  batch?: number;
  once?: boolean;
  format: string;
  kernel?: string;
  maxConnections: number;
  sendTimeout: number;
  responseMemory: number;
}

/** The exporter of a config file, checked against the maps there now; a UsageError says what is wrong with it. */
function exporterOf(file: string, o: ExportOptions, kernel: Kernel, io: CliIo): Exporter {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --config ${file}: ${(e as Error).message}`);
  }
  let config;
  try {
    config = parseConfig(text, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  if (o.batch !== undefined) config.batchSize = o.batch;
  const exporter = new Exporter(config, { kernel, log: (l) => io.stderr.write(`${l}\n`) });
  try {
    exporter.check();
  } catch (e) {
    // A config that does not fit a map there now is a mistake to fix (a map not there yet is not).
    if (e instanceof BindError) throw new UsageError(e.message);
    throw e;
  }
  return exporter;
}

function collectorOf(o: ExportOptions, kernel: Kernel, io: CliIo): Collector {
  if (o.maps) return new MapsCollector(kernel, o.batch ?? DEFAULT_BATCH_SIZE);
  return exporterOf(o.config as string, o, kernel, io);
}

/**
 * What the server serves: the maps' collector (replaced by a reload) and the process's own
 * metrics. A scrape keeps the collector it started with.
 */
class Served implements Collector {
  private readonly own = new ProcessCollector();
  constructor(public maps: Collector) {}
  async collect(signal?: AbortSignal): Promise<Family[]> {
    return [...(await this.maps.collect(signal)), ...(await this.own.collect())];
  }
}

/** SIGHUP: reads the config again; a config that is not valid (or does not fit the maps) leaves the last good one serving. */
function reload(served: Served, o: ExportOptions, kernel: Kernel, io: CliIo): void {
  const say = (l: string): boolean => io.stderr.write(`bpfmap export: ${l}\n`);
  if (!o.config) {
    say('SIGHUP: nothing to reload (--maps has no config)');
    return;
  }
  try {
    const next = exporterOf(o.config, o, kernel, io);
    served.maps = next;
    const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
    say(`SIGHUP: reloaded ${o.config}: ${n(next.metricCount, 'metric')} from ${n(next.mapCount, 'map')}`);
  } catch (e) {
    // One line: a config's problems are listed one per line.
    const why = (e instanceof Error ? e.message : String(e)).split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ');
    say(`SIGHUP: ${o.config} not reloaded, the last good config goes on serving: ${why}`);
  }
}

export function exportCommand(io: CliIo): Command {
  return withKernel(newCommand('export', 'serve map contents as Prometheus metrics (/metrics), as a config says, or every map\'s metadata with --maps', [
    'bpfmap export --config maps.yaml',
    'bpfmap export --config maps.yaml --listen 127.0.0.1:9435',
    'bpfmap export --maps',
    'bpfmap export --config maps.yaml --once | promtool check metrics',
  ]))
    .option('--config <file>', 'metrics to export (YAML or JSON; see README "bpfmap export")')
    .option('--maps', 'without a config: every map\'s type, max entries, entries, fill ratio and memory')
    .option('--listen <host:port>', 'address to serve /metrics on', DEFAULT_LISTEN)
    .option('--batch <n>', 'entries per LOOKUP_BATCH (overrides the config\'s batch_size)', integer(1))
    .option('--once', 'print one scrape to stdout and exit instead of serving; exit 1 when no map of the config could be read, 0 when at least one was (each failure is a line on stderr and counts in bpfmap_export_errors_total)')
    .option('--format <format>', 'with --once: text (Prometheus 0.0.4) or openmetrics', 'text')
    .option('--max-connections <n>', 'open connections at most: one more closes the connection idle longest, else the slowest reader\'s; keep it well below the open-file limit (ulimit -n)', integer(1), DEFAULT_LIMITS.maxConnections)
    .option('--send-timeout <seconds>', 'time a client has to read a response before its connection is closed', integer(1), DEFAULT_LIMITS.sendTimeoutMs / 1000)
    .option('--response-memory <MiB>', 'memory the bodies of responses not yet read may hold (a body shared by many counts once): beyond it the oldest are cut off', integer(1), DEFAULT_LIMITS.responseBytes / 2 ** 20)
    .action(async (o: ExportOptions) => {
      if (!o.config === !o.maps) throw new UsageError('give --config FILE or --maps (one of them)');
      if (o.format !== 'text' && o.format !== 'openmetrics') throw new UsageError(`--format must be text or openmetrics, got "${o.format}"`);
      const listen = parseListen(o.listen);
      if (typeof listen === 'string') throw new UsageError(`--listen: ${listen}`);
      const kernel = kernelFrom(o.kernel, io);
      const collector = collectorOf(o, kernel, io);
      if (o.once) {
        io.stdout.write(render(await collector.collect(), o.format as Format));
        // Some maps read: the scrape is worth keeping, and its errors_total says which failed.
        if (collector instanceof Exporter && collector.failed.length === collector.mapCount) {
          throw new Error(`no map could be read (${collector.failed.join(', ')}): see the lines above; the exposition holds only the exporter's own metrics`);
        }
        return;
      }
      let maxConnections = o.maxConnections;
      const files = openFileLimit();
      // Connections past the open-file limit would fail every accept, scrapers' included.
      if (files !== undefined && maxConnections > files - RESERVED_FILES) {
        maxConnections = Math.max(1, files - RESERVED_FILES);
        io.stderr.write(`bpfmap export: --max-connections lowered to ${maxConnections}: the open-file limit is ${files} (raise it with ulimit -n)\n`);
      }
      const served = new Served(collector);
      const server = new MetricsServer(served, { maxConnections, sendTimeoutMs: o.sendTimeout * 1000, responseBytes: o.responseMemory * 2 ** 20 },
        (l) => io.stderr.write(`${l}\n`));
      const addr = await server.listen(listen.host, listen.port);
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      io.stderr.write(`bpfmap export: serving http://${host}:${addr.port}/metrics\n`);
      await new Promise<void>((resolve) => {
        const hup = (): void => reload(served, o, kernel, io);
        const stop = (signal: NodeJS.Signals): void => {
          io.signals.off('SIGINT', stop);
          io.signals.off('SIGTERM', stop);
          io.signals.off('SIGHUP', hup);
          io.stderr.write(`bpfmap export: ${signal}: stopping (connections closed, a scrape in progress abandoned)\n`);
          void server.close().then(resolve);
        };
        io.signals.on('SIGINT', stop);
        io.signals.on('SIGTERM', stop);
        io.signals.on('SIGHUP', hup);
      });
    });
}
