import { Worker } from 'node:worker_threads';

interface Reply {
  id: number;
  result: number;
}

/**
 * A worker thread that makes element updates (LinuxKernel's asyncUpdater), so the RCU grace
 * period a map-in-map swap waits for blocks the worker instead of the event loop. fds are per
 * process, so the worker uses the caller's fds as they are. The worker holds the process open
 * only while an update is pending.
 */
export class UpdateThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: number) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor() {
    this.worker = new Worker(new URL('./update-worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      p?.resolve(m.result);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`the update worker thread exited (code ${code})`)));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** BPF_MAP_UPDATE_ELEM on the worker (buffers checked by the caller, copied here): 0 or -errno. */
  update(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, fd, key: key && Uint8Array.from(key), value: Uint8Array.from(value), flags });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
