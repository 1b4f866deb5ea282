// A worker thread of a parallel dump (map/dump-pool.ts): walks the ranges it is sent, on the
// caller's map fd (fds are per process), into the shared output, and answers on its port.
import { workerData, type MessagePort } from 'node:worker_threads';
import { BpfError } from '../kernel/error.js';
import { LinuxKernel } from '../kernel/linux.js';
import type { WalkedMap } from './batch-walk.js';
import { DONE, type Job, type Reply } from './dump-pool.js';
import { internal } from './internal.js';
import { walkRanges } from './range-walk.js';

const { port, state } = workerData as { port: MessagePort; state: SharedArrayBuffer };
const flag = new Int32Array(state);

function run(job: Job): { reply: Reply; transfer: ArrayBuffer[] } {
  const kernel = new LinuxKernel({ reason: 'a parallel dump worker thread' });
  kernel.adopt(job.fd);
  const map: WalkedMap = {
    kernel,
    fd: job.fd,
    maxEntries: job.maxEntries,
    keySize: job.keySize,
    valueBytes: job.valueBytes,
    [internal]: { cursorSize: job.cursorSize, label: () => job.label, annotate: (e) => e },
  };
  const keys = Buffer.from(job.keys, job.keyOffset);
  const values = Buffer.from(job.values, job.valueOffset);
  const plan = { specs: job.specs, regions: job.regions, capacities: job.capacities, next: new Int32Array(job.next) };
  const results = walkRanges(map, plan, keys, values, job.batch, job.elemFlags);
  const transfer = results.flatMap(({ result: r }) =>
    [r.spillKeys, r.spillValues].flatMap((b) => (b === null ? [] : [b.buffer as ArrayBuffer])),
  );
  return { reply: { results }, transfer };
}

port.on('message', (job: Job) => {
  let out: { reply: Reply; transfer: ArrayBuffer[] };
  try {
    out = run(job);
  } catch (e) {
    const error =
      e instanceof BpfError
        ? { message: e.message, cmd: e.cmd, errno: e.errno, ...(e.count === undefined ? {} : { count: e.count }) }
        : { message: e instanceof Error ? e.message : String(e) };
    out = { reply: { error }, transfer: [] };
  }
  port.postMessage(out.reply, out.transfer);
  Atomics.store(flag, 0, DONE);
  Atomics.notify(flag, 0);
});
Atomics.store(flag, 0, DONE);
Atomics.notify(flag, 0);
