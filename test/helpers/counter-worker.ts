// A worker thread that runs a loaded program with BPF_PROG_TEST_RUN until it has made its share
// of runs, then marks itself done in shared memory (so a harvest loop that blocks the main
// thread still sees it finish).
import { workerData } from 'node:worker_threads';
import { testRunFd } from '../../src/prog/program.js';

export interface CounterWorkerData {
  progFd: number;
  runs: number;
  chunk: number;
  /** [workers done, workers failed] */
  state: Int32Array;
}

const d = workerData as CounterWorkerData;
try {
  for (let left = d.runs; left > 0; left -= d.chunk) testRunFd(d.progFd, { repeat: Math.min(d.chunk, left) });
} catch (e) {
  Atomics.add(d.state, 1, 1);
  throw e;
} finally {
  Atomics.add(d.state, 0, 1);
}
