/** An errno raised inside the emulator; the emulated kernel turns it into the command's BpfError. */
export class EmuErrno extends Error {
    errno;
    constructor(errno) {
        super(`errno ${errno}`);
        this.errno = errno;
    }
}
export function fail(errno) {
    throw new EmuErrno(errno);
}
/** An errno with a hint a user can act on (the pin store's refusals, say): the kernel's BpfError carries both. */
export class EmuErrnoHint extends EmuErrno {
    hint;
    constructor(errnum, hint) {
        super(errnum);
        this.hint = hint;
    }
}
//# sourceMappingURL=errno.js.map