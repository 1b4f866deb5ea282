import type { Chunk } from '../map/walk.js';
import type { EntryWriter } from './formats.js';
import type { Output } from './output.js';
import type { Progress } from './progress.js';

/**
 * Writes the entries of chunks through writer to out, one chunk at a time, waiting for the
 * output to drain: a map of any size is never held as text. Stops after limit entries.
 */
export async function streamChunks(chunks: Iterator<Chunk>, writer: EntryWriter, out: Output, progress: Progress, limit = Infinity): Promise<number> {
  let n = 0;
  out.write(writer.begin());
  try {
    while (n < limit) {
      const r = chunks.next();
      if (r.done) break;
      const { keys, values, count, cursor } = r.value;
      const take = Math.min(count, limit - n);
      out.write(writer.chunk(keys, values, take));
      n += take;
      progress.update(n, cursor);
      await out.maybeFlush();
    }
  } finally {
    chunks.return?.();
    progress.stop();
  }
  out.write(writer.end());
  await out.flush();
  return n;
}
