// Runs in a worker thread started by UpdateThread (part of the Linux adapter): one element update per message.
import { parentPort } from 'node:worker_threads';
import { sysMapUpdateElem } from '../sys/map-elem.js';

interface Request {
  id: number;
  fd: number;
  key: Uint8Array | null;
  value: Uint8Array;
  flags: number;
}

parentPort?.on('message', (m: Request) => {
  const result = sysMapUpdateElem(m.fd, m.key, m.key?.length ?? 0, m.value, m.value.length, m.flags);
  parentPort?.postMessage({ id: m.id, result });
});
