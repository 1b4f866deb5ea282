import { once } from 'node:events';

// Text is handed to the stream in pieces of about this size: large enough for few writes,
// small enough that a dump of any size holds only one piece at a time.
const PIECE = 1 << 16;

/** Buffered text output that waits for the stream to drain, so memory stays flat however much is written. */
export class Output {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }

  /** Writes what is buffered once it is a full piece. */
  async maybeFlush(): Promise<void> {
    if (this.size >= PIECE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
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
