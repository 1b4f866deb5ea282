// Deletes and re-inserts keys of a map (opened by id) until the main thread raises the stop flag.
import { parentPort, workerData } from 'node:worker_threads';
import { BpfMap } from '../../src/map/map.js';

const { id, keys, stop } = workerData as { id: number; keys: number[]; stop: SharedArrayBuffer };
const flag = new Int32Array(stop);
const map = BpfMap.fromId(id);
const k = Buffer.alloc(4);
const v = Buffer.alloc(map.valueSize);
let ops = 0;
while (Atomics.load(flag, 0) === 0) {
  for (const n of keys) {
    k.writeUInt32LE(n);
    map.delete(k);
    map.set(k, v);
    ops += 2;
  }
}
map.close();
parentPort?.postMessage(ops);
