import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { Collector } from './exporter.js';
import { CONTENT_TYPES, formatFor, renderAsync, type Family, type Format } from './exposition.js';

/** host:port to listen on; the host may be an IPv6 address in brackets. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return `expected HOST:PORT (e.g. 127.0.0.1:9435), got "${text}"`;
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * Serves a collector's families. Scrapes that arrive while one is being collected share its
 * result (each map is read once however many scrapers there are), rendered once per format.
 */
export class MetricsServer {
  private inflight: Promise<Family[]> | undefined;
  private readonly server: Server;

  constructor(private readonly collector: Collector) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // A slow or dead scraper must not hold a socket forever.
    this.server.requestTimeout = 60_000;
  }

  private collect(): Promise<{ families: Family[]; rendered: Map<string, Promise<Buffer>> }> {
    let p = this.inflight;
    if (!p) {
      p = this.collector.collect();
      this.inflight = p;
      const clear = (): void => {
        if (this.inflight === p) this.inflight = undefined;
      };
      p.then(clear, clear);
    }
    return p.then((families) => {
      const cache = renderCache.get(families) ?? new Map<string, Promise<Buffer>>();
      renderCache.set(families, cache);
      return { families, rendered: cache };
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html><head><title>bpfmap export</title></head><body><a href="/metrics">metrics</a></body></html>\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    try {
      const format = formatFor(req.headers.accept);
      const { families, rendered } = await this.collect();
      const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const body = await cached(rendered, format, gz ? 'gzip' : 'identity', () => renderAsync(families, format));
      const headers: Record<string, string | number> = { 'content-type': CONTENT_TYPES[format], 'content-length': body.length };
      if (gz) headers['content-encoding'] = 'gzip';
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      // Collectors turn map failures into metrics; anything reaching here is a bug worth a 500, not a crash.
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`bpfmap export: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks a free port). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

// Renders of one collection, shared by the scrapes that got it; dropped with the families.
const renderCache = new WeakMap<Family[], Map<string, Promise<Buffer>>>();

const gzipAsync = promisify(gzip);

/**
 * A collection's body in a format and encoding, made once. Compression runs on libuv's thread
 * pool (the event loop stays free); level 1: most of the size gain of text this repetitive, for
 * a fraction of the time.
 */
function cached(cache: Map<string, Promise<Buffer>>, format: Format, encoding: 'gzip' | 'identity', make: () => Promise<Buffer>): Promise<Buffer> {
  const key = `${format} ${encoding}`;
  let p = cache.get(key);
  if (!p) {
    p = encoding === 'identity' ? make() : cached(cache, format, 'identity', make).then((b) => gzipAsync(b, { level: constants.Z_BEST_SPEED }));
    cache.set(key, p);
  }
  return p;
}
