// Runs in a worker thread started by SwapThread: one map-in-map update per message.
import { parentPort } from 'node:worker_threads';
import { BPF_ANY } from '../sys/constants.js';
import { sysMapUpdateElem } from '../sys/map-elem.js';

interface Request {
  id: number;
  outerFd: number;
  key: Uint8Array;
  innerFd: number;
}

const value = Buffer.alloc(4);
parentPort?.on('message', (m: Request) => {
  value.writeUInt32LE(m.innerFd);
  const result = sysMapUpdateElem(m.outerFd, m.key, m.key.length, value, value.length, BPF_ANY);
  parentPort?.postMessage({ id: m.id, result });
});
