import type { BatchReply } from '../sys/batch.js';
import { BPF_MAP_DELETE_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_LOOKUP_BATCH, BPF_MAP_UPDATE_BATCH } from '../sys/constants.js';
import { lookupStep, writeCount } from './checks.js';
import { BpfError } from './error.js';
import type { HintContext } from './hints.js';
import type { LookupBatchArgs, LookupBatchStep, WriteBatchArgs } from './kernel.js';

/**
 * The four batch commands of both kernels, over one `batch` call each kernel makes its own way
 * (checked by kernel/checks.ts batchArgs): the reply becomes the same outcome on either.
 */
export abstract class BatchCommands {
  /** One batch call, its arguments checked; lookup is args for the lookup commands, else null. */
  protected abstract batch(cmd: number, fd: number, args: LookupBatchArgs | WriteBatchArgs, lookup: LookupBatchArgs | null): BatchReply;

  /** What the kernel knows of the map behind fd, for the hint of a failed command (kernel/hints.ts). */
  protected abstract hintContext(fd: number): HintContext;

  /** Runs a command on fd; its BpfError gets the hint chosen with what is known of the map. */
  protected onFd<T>(fd: number, run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (e instanceof BpfError) e.refine(this.hintContext(fd));
      throw e;
    }
  }

  lookupBatch(fd: number, args: LookupBatchArgs): LookupBatchStep {
    return this.onFd(fd, () => lookupStep(BPF_MAP_LOOKUP_BATCH, this.batch(BPF_MAP_LOOKUP_BATCH, fd, args, args), args));
  }

  lookupAndDeleteBatch(fd: number, args: LookupBatchArgs): LookupBatchStep {
    return this.onFd(fd, () => lookupStep(BPF_MAP_LOOKUP_AND_DELETE_BATCH, this.batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, args, args), args));
  }

  updateBatch(fd: number, args: WriteBatchArgs): number {
    return this.onFd(fd, () => writeCount(BPF_MAP_UPDATE_BATCH, this.batch(BPF_MAP_UPDATE_BATCH, fd, args, null), args));
  }

  deleteBatch(fd: number, args: WriteBatchArgs): number {
    return this.onFd(fd, () => writeCount(BPF_MAP_DELETE_BATCH, this.batch(BPF_MAP_DELETE_BATCH, fd, args, null), args));
  }
}
