import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BindError } from '../export/bind.js';
import { ConfigError, DEFAULT_BATCH_SIZE, parseConfig } from '../export/config.js';
import { Exporter, type Collector } from '../export/exporter.js';
import { render, type Format } from '../export/exposition.js';
import { fieldsOf } from '../export/btf-fields.js';
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

function collectorOf(o: ExportOptions, io: CliIo): Collector {
  const kernel = kernelFrom(o.kernel, io);
  if (o.maps) return new MapsCollector(kernel, o.batch ?? DEFAULT_BATCH_SIZE);
  const file = o.config as string;
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
  const exporter = new Exporter(config, { kernel, fields: fieldsOf, log: (l) => io.stderr.write(`${l}\n`) });
  try {
    exporter.check();
  } catch (e) {
    // A config that does not fit a map there now is a mistake to fix (a map not there yet is not).
    if (e instanceof BindError) throw new UsageError(e.message);
    throw e;
  }
  return exporter;
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
      const collector = collectorOf(o, io);
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
      const server = new MetricsServer(collector, { maxConnections, sendTimeoutMs: o.sendTimeout * 1000, responseBytes: o.responseMemory * 2 ** 20 },
        (l) => io.stderr.write(`${l}\n`));
      const addr = await server.listen(listen.host, listen.port);
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      io.stderr.write(`bpfmap export: serving http://${host}:${addr.port}/metrics\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          io.signals.off('SIGINT', stop);
          io.signals.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        io.signals.on('SIGINT', stop);
        io.signals.on('SIGTERM', stop);
      });
    });
}
