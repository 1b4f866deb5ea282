import { once } from 'node:events';

// Text is handed to the stream in pieces of about this size: large enough for few writes,
// small enough that a dump of any size holds only one piece at a time.
const PIECE = 1 << 16;

/** Buffered text output that waits for the stream to drain, so memory stays flat however much is written. */
export class Output {
  private parts: Array<string | Buffer> = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  /** Text, or its bytes (UTF-8) where the writer made them directly. */
  write(piece: string | Buffer): void {
    this.parts.push(piece);
    this.size += piece.length;
  }

  /** Writes what is buffered once it is a full piece. */
  async maybeFlush(): Promise<void> {
    if (this.size >= PIECE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    const data = parts.every((p) => typeof p === 'string')
      ? parts.join('')
      : Buffer.concat(parts.flatMap((p) => (typeof p === 'string' ? (p === '' ? [] : [Buffer.from(p)]) : [p])));
    if (!this.stream.write(data)) await once(this.stream, 'drain');
  }
}

/**
 * A reader that goes away (`bpfmap dump ... | head`) ends the output: exit quietly, like other
 * Unix tools, instead of printing a stack trace for EPIPE. (drain writes through its own FdSink.)
 */
export function exitOnClosedPipe(stream: NodeJS.WritableStream, exit: (code: number) => void): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    exit(0);
  });
}
