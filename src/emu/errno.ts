/** An errno raised inside the emulator; the emulated kernel turns it into the command's BpfError. */
export class EmuErrno extends Error {
  readonly errno: number;
  constructor(errno: number) {
    super(`errno ${errno}`);
    this.errno = errno;
  }
}

export function fail(errno: number): never {
  throw new EmuErrno(errno);
}

/** An errno with a hint a user can act on (the pin store's refusals, say): the kernel's BpfError carries both. */
export class EmuErrnoHint extends EmuErrno {
  readonly hint: string;
  constructor(errnum: number, hint: string) {
    super(errnum);
    this.hint = hint;
  }
}
