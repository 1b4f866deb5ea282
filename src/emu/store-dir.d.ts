/**
 * The store's directory: BPFMAP_EMU_DIR; else bpfmap-emu in XDG_RUNTIME_DIR when that is this
 * user's own directory; else bpfmap-emu-<uid> in the OS temp directory. Either way pins, like a
 * bpffs, do not outlive a reboot.
 */
export declare function defaultEmuDir(): string;
/** What tells one version of a file from another, with its first bytes. */
export interface FileStamp {
    size: bigint;
    mtimeNs: bigint;
}
/** A file as read, with its stamp. */
export interface ReadFile {
    text: string;
    stat: FileStamp;
}
/** One store directory: checked on every use, with files read and written without following links. */
export declare class StoreDir {
    readonly path: string;
    /** Subdirectories already checked (nobody else can replace them inside a checked store). */
    private readonly subs;
    /** Whether the directory passed its check once (reads need no more; writes check every time). */
    private checked;
    constructor(path: string);
    private refuse;
    /**
     * Checks the store's directory, creating it (0700) when asked; false when it does not exist.
     * Reads check it once; writes every time, so that a store removed and re-created by someone
     * else meanwhile is never written into.
     */
    private root;
    /** A checked subdirectory's path, or null when it does not exist and create is false. */
    private sub;
    file(sub: string, name: string): string;
    /** Reads a regular file (never through a link) with read; null when there is none. */
    private readWith;
    /** A file's text, or null when it does not exist. */
    read(sub: string, name: string): ReadFile | null;
    /** The first bytes of a file (a cheap version check), or null when it does not exist. */
    head(sub: string, name: string, bytes: number): ReadFile | null;
    /** A new private file holding text, under a temporary name in d; its name and stamp. */
    private temp;
    /** Replaces a file whole (written to a temporary name and renamed into place); its stamp. */
    write(sub: string, name: string, text: string): FileStamp;
    /** Creates a file whole, unless one exists (then false): linked into place, which refuses an existing name. */
    create(sub: string, name: string, text: string): boolean;
    /** Removes a file; false when there was none. */
    remove(sub: string, name: string): boolean;
    list(sub: string): string[];
    /**
     * Runs fn holding the lock name.lock in sub, across processes: the lock file is created whole
     * (so it always names its holder), and one whose holder has died is broken. Breaking takes a
     * second lock, so two processes never both break (and one wrongly remove) the same lock.
     * Processes sharing a store must share a pid namespace, as on one machine.
     */
    withLock<T>(sub: string, name: string, fn: () => T): T;
    private breakLock;
}
