/** An errno raised inside the emulator; the emulated kernel turns it into the command's BpfError. */
export declare class EmuErrno extends Error {
    readonly errno: number;
    constructor(errno: number);
}
export declare function fail(errno: number): never;
/** An errno with a hint a user can act on (the pin store's refusals, say): the kernel's BpfError carries both. */
export declare class EmuErrnoHint extends EmuErrno {
    readonly hint: string;
    constructor(errnum: number, hint: string);
}
