import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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

/** What the server lets its clients hold: connections, time and memory. */
export interface ServerLimits {
  /** Open connections at most; a connection beyond it displaces another (see admit) or is refused. */
  maxConnections: number;
  /** Milliseconds a response may take to reach its reader once written; then its connection is closed. */
  sendTimeoutMs: number;
  /**
   * Bytes of bodies that unfinished responses may hold between them (a body shared by several
   * counts once). Beyond it, the responses holding the oldest bodies are cut off; the newest body
   * is always sent.
   */
  responseBytes: number;
  /** Milliseconds a keep-alive connection may stay idle. */
  idleTimeoutMs: number;
  /** Milliseconds a client has to send a whole request. */
  requestTimeoutMs: number;
}

/**
 * A connection this young (since it opened, or since its response was written) is displaced by a
 * newer one only when no older one can be: time for a client to send its request, or read its reply.
 */
const GRACE_MS = 1000;

/** The limits a MetricsServer keeps unless told otherwise. */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 64,
  sendTimeoutMs: 30_000,
  responseBytes: 32 * 2 ** 20,
  idleTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
});

/** A response between its request and its end on the wire. */
interface Pending {
  socket: Socket;
  /** The body it holds (shared with the other responses of its scrape), once written. */
  body: Buffer | undefined;
  /** Closes the connection when the reader takes too long; set once the response is written. */
  timer: NodeJS.Timeout | undefined;
  /** When the response was written (Date.now()). */
  at: number;
}

/**
 * Serves a collector's families. Requests that arrive while a scrape is being collected or
 * rendered share it (each map is read once however many scrapers there are), rendered once per
 * format and encoding into one Buffer that every response of the scrape sends. What clients can hold is
 * bounded by ServerLimits: connections, idle time, time to read a response, and the memory of
 * the bodies of responses not yet read.
 */
export class MetricsServer {
  private inflight: Promise<Family[]> | undefined;
  private readonly server: Server;
  private readonly limits: ServerLimits;
  /** Open connections, each with the time it became idle (0 while it has a request) and whether it ever sent one. */
  private readonly conns = new Map<Socket, { idleSince: number; asked: boolean; active: number }>();
  /** Written responses not yet read, oldest first. */
  private readonly written = new Set<Pending>();
  /** Bodies held by written responses, with how many hold each. */
  private readonly held = new Map<Buffer, number>();
  private heldBytes = 0;
  private acceptError: string | undefined;
  /** Aborted by close(): a scrape in progress stops at its next batch, so closing is prompt. */
  private readonly closing = new AbortController();

  constructor(
    private readonly collector: Collector,
    limits: Partial<ServerLimits> = {},
    private readonly log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    const { idleTimeoutMs, requestTimeoutMs } = this.limits;
    // Request deadlines are checked at this interval: a connection that never sends a byte is gone within it.
    this.server = createServer({ connectionsCheckingInterval: Math.min(1000, requestTimeoutMs), keepAliveTimeout: idleTimeoutMs, requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs }, (req, res) => void this.handle(req, res));
    this.server.on('connection', (socket: Socket) => this.admit(socket));
  }

  /**
   * Makes room for a new connection when at the limit by closing, oldest first: a connection idle
   * since its last response or for a second since it opened; else one whose response has waited a
   * second or more for its reader; else a younger one of either kind. Connections waiting for a
   * scrape in progress stay: when they are all there is, the newcomer is refused.
   */
  private admit(socket: Socket): void {
    if (this.conns.size >= this.limits.maxConnections) {
      const young = Date.now() - GRACE_MS;
      const victim = this.oldestIdle(young) ?? this.oldestWritten(young) ?? this.oldestIdle(Infinity) ?? this.oldestWritten(Infinity);
      if (!victim) {
        socket.destroy();
        return;
      }
      this.drop(victim);
    }
    this.conns.set(socket, { idleSince: Date.now(), asked: false, active: 0 });
    socket.once('close', () => this.drop(socket));
  }

  /** The connection of the response written first, if it was written at or before `before`. */
  private oldestWritten(before: number): Socket | undefined {
    const p = this.written.values().next().value;
    return p && p.at <= before ? p.socket : undefined;
  }

  /** The connection idle longest, among those that have had a request or opened at or before openedBefore. */
  private oldestIdle(openedBefore: number): Socket | undefined {
    let best: Socket | undefined;
    let since = Infinity;
    for (const [s, c] of this.conns) {
      if (c.idleSince !== 0 && c.idleSince < since && (c.asked || c.idleSince <= openedBefore)) {
        best = s;
        since = c.idleSince;
      }
    }
    return best;
  }

  /** Forgets a connection and the bodies its responses hold, and closes it. */
  private drop(socket: Socket): void {
    if (!this.conns.delete(socket)) return;
    for (const p of this.written) if (p.socket === socket) this.release(p);
    socket.destroy();
  }

  /** A response written (with the body it holds, none for small ones) that its reader has sendTimeoutMs to take. */
  private hold(p: Pending, body: Buffer | undefined): void {
    p.at = Date.now();
    this.written.add(p);
    p.timer = setTimeout(() => this.drop(p.socket), this.limits.sendTimeoutMs);
    if (!body) return;
    p.body = body;
    const n = this.held.get(body) ?? 0;
    this.held.set(body, n + 1);
    if (n === 0) this.heldBytes += body.length;
    // Over budget: the responses holding the oldest bodies go (their readers are the slowest).
    for (const q of this.written) {
      if (this.heldBytes <= this.limits.responseBytes) break;
      if (q.body !== body) this.drop(q.socket);
    }
  }

  private release(p: Pending): void {
    if (!this.written.delete(p)) return;
    clearTimeout(p.timer);
    const body = p.body;
    if (!body) return;
    const n = (this.held.get(body) ?? 1) - 1;
    if (n > 0) this.held.set(body, n);
    else {
      this.held.delete(body);
      this.heldBytes -= body.length;
    }
  }

  /** Tracks a response from its request until it has reached its reader (or the connection is gone). */
  private track(req: IncomingMessage, res: ServerResponse): Pending {
    const socket = req.socket;
    const p: Pending = { socket, body: undefined, timer: undefined, at: 0 };
    const conn = this.conns.get(socket);
    if (conn) {
      conn.active++;
      conn.asked = true;
      conn.idleSince = 0;
    }
    res.once('close', () => {
      this.release(p);
      if (conn && --conn.active === 0) conn.idleSince = Date.now();
    });
    return p;
  }

  /**
   * The scrape in progress, or a new one. A scrape lasts until its first body is rendered (see
   * done()): requests arriving while it is collected or rendered get its body, so a stream of
   * requests costs one collection and rendering at a time, however slow they are.
   */
  private scrape(): Promise<Family[]> {
    let p = this.inflight;
    if (!p) {
      p = this.collector.collect(this.closing.signal);
      this.inflight = p;
      const failed = (): void => this.done(p);
      p.catch(failed);
    }
    return p;
  }

  /** Ends a scrape: the next request starts a new one. */
  private done(p: Promise<Family[]> | undefined): void {
    if (this.inflight === p) this.inflight = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pending = this.track(req, res);
    const path = (req.url ?? '/').split('?')[0];
    const small = (status: number, headers: Record<string, string>, text: string): void => {
      if (res.destroyed) return;
      this.hold(pending, undefined);
      res.writeHead(status, headers).end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      small(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'method not allowed\n');
      return;
    }
    if (path === '/') {
      small(200, { 'content-type': 'text/html; charset=utf-8' }, '<html><head><title>bpfmap export</title></head><body><a href="/metrics">metrics</a></body></html>\n');
      return;
    }
    if (path !== '/metrics') {
      small(404, { 'content-type': 'text/plain' }, 'not found: try /metrics\n');
      return;
    }
    try {
      const format = formatFor(req.headers.accept);
      const scrape = this.scrape();
      const families = await scrape;
      const rendered = renderCache.get(families) ?? new Map<string, Promise<Buffer>>();
      renderCache.set(families, rendered);
      const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      let body: Buffer;
      try {
        body = await cached(rendered, format, gz ? 'gzip' : 'identity', () => renderAsync(families, format));
      } finally {
        this.done(scrape);
      }
      const headers: Record<string, string | number> = { 'content-type': CONTENT_TYPES[format], 'content-length': body.length };
      if (gz) headers['content-encoding'] = 'gzip';
      if (res.destroyed) return;
      const head = req.method === 'HEAD';
      this.hold(pending, head ? undefined : body);
      res.writeHead(200, headers).end(head ? undefined : body);
    } catch (e) {
      // Collectors turn map failures into metrics; anything reaching here is a bug worth a 500, not a crash.
      small(500, { 'content-type': 'text/plain' }, `bpfmap export: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks a free port). */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        // Out of file descriptors (or another accept failure): the server goes on with the connections it has.
        this.server.on('error', (e) => {
          if (e.message !== this.acceptError) this.log(`bpfmap export: ${e.message} (connections beyond the open-file limit are refused)`);
          this.acceptError = e.message;
        });
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening, closes every connection and abandons a scrape in progress. */
  close(): Promise<void> {
    this.closing.abort(new Error('the exporter is closing'));
    for (const p of this.written) clearTimeout(p.timer);
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
