import { readFileSync } from 'node:fs';
import type { Kernel } from './kernel.js';
import { openKernel } from './open.js';
import type { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse.js';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

let vmlinux: Btf | undefined;

/** The running kernel's own types (/sys/kernel/btf/vmlinux), parsed once. */
export function vmlinuxBtf(): Btf {
  vmlinux ??= parseBtf(readFileSync(VMLINUX_BTF));
  return vmlinux;
}

/** A BTF object held open in the kernel: what maps point their btf_fd at. */
export class LoadedBtf implements Disposable {
  readonly kernel: Kernel;
  readonly id: number;
  private fdValue: number;

  constructor(kernel: Kernel, fd: number) {
    this.kernel = kernel;
    this.fdValue = fd;
    try {
      this.id = kernel.btfInfo(fd).id;
    } catch (e) {
      kernel.close(fd);
      throw e;
    }
  }

  get fd(): number {
    if (this.fdValue < 0) throw new Error(`BTF object ${this.id} is closed`);
    return this.fdValue;
  }

  /** The blob as the kernel holds it, parsed. */
  read(): Btf {
    return parseBtf(this.kernel.btfData(this.fd));
  }

  /** Gives the fd back; maps created with this BTF keep it alive in the kernel. */
  close(): void {
    if (this.fdValue < 0) return;
    const fd = this.fdValue;
    this.fdValue = -1;
    this.kernel.close(fd);
  }

  /** Closes the BTF fd: `using obj = openBtf(id)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Loads a BTF blob into the kernel (BPF_BTF_LOAD). */
export function loadBtf(blob: Uint8Array, kernel: Kernel = openKernel()): LoadedBtf {
  return new LoadedBtf(kernel, kernel.btfLoad(blob));
}

/** Opens the BTF object with this id (e.g. a map's btfId). */
export function openBtf(id: number, kernel: Kernel = openKernel()): LoadedBtf {
  return new LoadedBtf(kernel, kernel.btfFdById(id));
}

/** Reads and parses the BTF object with this id. */
export function btfFromId(id: number, kernel: Kernel = openKernel()): Btf {
  using obj = openBtf(id, kernel);
  return obj.read();
}
