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
