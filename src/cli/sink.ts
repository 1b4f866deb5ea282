import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { nativePipe, type PipeCalls } from '../sys/native.js';
import { CliError, EXIT_USAGE } from './errors.js';
import type { CliOutput } from './io.js';

const POLLERR = 0x8;
/** How long one wait for a full output blocks the event loop, so a signal is seen within it. */
const POLL_SLICE_MS = 50;

/** A write to the output failed with this errno code (EPIPE: the reader went away); the message starts with the code. */
export class WriteFailed extends Error {
  override readonly name = 'WriteFailed';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function errnoCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'EIO';
}

/** The open flags of fd, from /proc (Node has no fcntl). */
function openFlags(fd: number): number | undefined {
  const m = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? parseInt(m[1] as string, 8) : undefined;
}

/** Where drain writes, counting what was delivered (see FdSink). */
export interface Sink {
  readonly isPipe: boolean;
  write(buf: Buffer, stopped: () => boolean): Promise<boolean>;
  taken(stopped: () => boolean): Promise<void>;
  delivered(): number;
  settle(): number;
}

/**
 * The sink for out: its file descriptor, checked, when it has one (the process's stdout), else
 * the stream itself (a CLI run in process), which counts what it accepted as delivered.
 */
export function sinkFor(out: CliOutput, what: string): Sink {
  return typeof out.fd === 'number' ? FdSink.open(out.fd, what) : new StreamSink(out);
}

/** A stream without a file descriptor: what it accepted counts as written, like a file. */
class StreamSink implements Sink {
  readonly isPipe = false;
  private written = 0;
  private failed: WriteFailed | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.failed ??= new WriteFailed(e.code ?? 'EIO', e.message);
    });
  }

  async write(buf: Buffer): Promise<boolean> {
    if (this.failed) throw this.failed;
    const more = this.out.write(buf);
    this.written += buf.length;
    if (!more) await new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('error', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
    });
    if (this.failed) throw this.failed;
    return true;
  }

  async taken(): Promise<void> {}

  delivered(): number {
    return this.written;
  }

  settle(): number {
    return this.written;
  }
}

/**
 * An output file descriptor written with plain write(2), counting the bytes it accepted. For a
 * pipe it also knows how many of them the reader has taken: the bytes still in the pipe are
 * not delivered, and are read back out (settle) so that no reader ever sees them.
 */
export class FdSink implements Sink {
  /** Bytes write(2) accepted. */
  written = 0;
  private readonly pipe: PipeCalls | undefined;

  private constructor(readonly fd: number, pipe: boolean) {
    this.pipe = pipe ? nativePipe() : undefined;
  }

  /** Whether this is a pipe whose unread bytes are known (a pipe or FIFO, with the native addon). */
  get isPipe(): boolean {
    return this.pipe !== undefined;
  }

  /**
   * fd, after checking it can be written: a closed stdout, /dev/full, a read-only fd or a pipe
   * whose reader has gone is refused (exit 2) before the caller changes anything.
   */
  static open(fd: number, what: string): FdSink {
    const refuse = (why: string, hint = ''): CliError => new CliError(`${why}; ${what}${hint}`, EXIT_USAGE);
    let st;
    try {
      st = fstatSync(fd);
    } catch {
      throw refuse('standard output is not open');
    }
    // Node puts /dev/null, opened read-write, in place of a closed stdout (`>&-`); a shell's
    // `> /dev/null` opens it write-only, which is a deliberate discard and allowed.
    if (st.isCharacterDevice() && st.rdev === statSync('/dev/null').rdev && ((openFlags(fd) ?? 0) & 3) === constants.O_RDWR)
      throw refuse('standard output is closed (or is /dev/null opened read-write, which is what a closed stdout becomes)',
        ' (to discard what is removed, redirect it: > /dev/null)');
    try {
      // Fails on /dev/full (ENOSPC) and on an fd open for reading only (EBADF).
      writeSync(fd, Buffer.alloc(0));
    } catch (e) {
      throw refuse(`standard output cannot be written (${errnoCode(e)})`);
    }
    const sink = new FdSink(fd, st.isFIFO());
    if (sink.readerGone()) throw refuse('the reader of standard output has gone (EPIPE)');
    return sink;
  }

  private readerGone(timeoutMs = 0): boolean {
    if (!this.pipe) return false;
    // A negative result is an errno (EINTR when a signal came): not an answer, and asked again later.
    const r = this.pipe.pollOut(this.fd, timeoutMs);
    return r > 0 && (r & POLLERR) !== 0;
  }

  /** Bytes in the pipe that no reader has taken; 0 for other outputs. */
  unread(): number {
    return this.pipe ? Math.max(this.pipe.unread(this.fd), 0) : 0;
  }

  /** Bytes the reader has taken (a pipe) or the output accepted (anything else). */
  delivered(): number {
    return this.written - this.unread();
  }

  /**
   * Writes all of buf. A full non-blocking output is waited for in slices, letting the event
   * loop run so that signals are handled; returns false, part-written, once stopped() is true.
   */
  async write(buf: Buffer, stopped: () => boolean): Promise<boolean> {
    let at = 0;
    while (at < buf.length) {
      try {
        const n = writeSync(this.fd, buf, at, buf.length - at);
        at += n;
        this.written += n;
        continue;
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'EAGAIN') throw new WriteFailed(code, (e as Error).message.startsWith(code) ? (e as Error).message : `${code}: ${(e as Error).message}`);
      }
      if (this.pipe) {
        if (this.readerGone(POLL_SLICE_MS)) throw new WriteFailed('EPIPE', 'EPIPE: the reader of the pipe has gone');
        await yieldToLoop();
      } else {
        await sleep(5);
      }
      if (stopped()) return false;
    }
    return true;
  }

  /** Waits until the reader has taken everything written, has gone, or stopped() is true. */
  async taken(stopped: () => boolean): Promise<void> {
    let wait = 1;
    while (this.unread() > 0 && !this.readerGone() && !stopped()) {
      await sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
  }

  /**
   * The bytes delivered for good: reads back what is still in a pipe, so that no reader will
   * see it, and returns what readers took (all that was written, for other outputs).
   */
  settle(): number {
    if (!this.pipe) return this.written;
    let fd;
    try {
      // Opening a pipe through /proc gives a new read end of the same pipe.
      fd = openSync(`/proc/self/fd/${this.fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      // Counted as not delivered, though a reader may still read them.
      return this.delivered();
    }
    const buf = Buffer.allocUnsafe(1 << 16);
    try {
      for (;;) {
        const r = readSync(fd, buf, 0, buf.length, null);
        if (r === 0) break;
        this.written -= r;
      }
    } catch (e) {
      if (errnoCode(e) !== 'EAGAIN') throw e;
    } finally {
      closeSync(fd);
    }
    return this.written;
  }
}
