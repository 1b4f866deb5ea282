// A second process reading a pinned ring (test/map/ringbuf.test.ts): prints "ready", then a line per
// record as it arrives ("rec LENGTH HEX-OF-THE-FIRST-8-BYTES"), and ends at a record of 99 bytes.
import { RingBuffer } from '../../src/map/ringbuf.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: ringbuf-child PINNED-PATH');
const rb = RingBuffer.openPinned(path);
process.stdout.write('ready\n');
for await (const r of rb) {
  process.stdout.write(`rec ${r.length} ${Buffer.from(r.buffer, r.byteOffset, Math.min(8, r.length)).toString('hex')}\n`);
  if (r.length === 99) break;
}
rb.close();
