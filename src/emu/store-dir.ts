// The emulator's store directory and the only ways into it. The default one sits in a shared
// temp directory, where another local user could create it first to plant maps and pins or to
// redirect writes: so the directory must be this user's own (a real directory owned by this uid
// that nobody else can write), it is created 0700, and no symbolic link inside is ever followed.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { errno } from '../sys/errno.js';
import { EmuErrnoHint } from './errno.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** How long a lock may stay held by a live process before a command gives up. */
const LOCK_TIMEOUT_MS = 30_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function myUid(): number | undefined {
  return process.getuid?.();
}

/** Why a directory is no safe store for this user, or null when it is one. */
function unsafe(st: Stats): string | null {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isDirectory()) return 'is not a directory';
  const me = myUid();
  if (me !== undefined && st.uid !== me) return `is owned by uid ${st.uid}, not by you (uid ${me})`;
  if (st.mode & 0o022) {
    const who = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'other users' : ''].filter(Boolean).join(' and ');
    return `can be written by ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  }
  return null;
}

/**
 * The store's directory: BPFMAP_EMU_DIR; else bpfmap-emu in XDG_RUNTIME_DIR when that is this
 * user's own directory; else bpfmap-emu-<uid> in the OS temp directory. Either way pins, like a
 * bpffs, do not outlive a reboot.
 */
export function defaultEmuDir(): string {
  const env = process.env.BPFMAP_EMU_DIR;
  if (env) return env;
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime)) {
    try {
      if (unsafe(lstatSync(runtime)) === null) return join(runtime, 'bpfmap-emu');
    } catch {
      // Set but missing: the temp directory serves.
    }
  }
  let user: string;
  try {
    user = String(myUid() ?? userInfo().username);
  } catch {
    user = 'user';
  }
  return join(tmpdir(), `bpfmap-emu-${user}`);
}

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Whether the process a lock file names is gone (a lock file that names none is a broken one). */
function holderGone(content: string): boolean {
  const pid = Number(/^(\d+) /.exec(content)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return code(e) === 'ESRCH';
  }
}

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

function fileStamp(fd: number): FileStamp {
  const st = fstatSync(fd, { bigint: true });
  return { size: st.size, mtimeNs: st.mtimeNs };
}

/** One store directory: checked on every use, with files read and written without following links. */
export class StoreDir {
  readonly path: string;
  /** Subdirectories already checked (nobody else can replace them inside a checked store). */
  private readonly subs = new Set<string>();
  /** Whether the directory passed its check once (reads need no more; writes check every time). */
  private checked = false;

  constructor(path: string) {
    this.path = path;
  }

  private refuse(why: string): EmuErrnoHint {
    return new EmuErrnoHint(errno.EACCES, `the emulator's store ${this.path} ${why}: another user may have put it there; ` +
      'remove it, or set BPFMAP_EMU_DIR to a directory of your own that only you can write (mode 0700)');
  }

  /**
   * Checks the store's directory, creating it (0700) when asked; false when it does not exist.
   * Reads check it once; writes every time, so that a store removed and re-created by someone
   * else meanwhile is never written into.
   */
  private root(create: boolean): boolean {
    if (this.checked && !create) return true;
    let st: Stats;
    try {
      st = lstatSync(this.path);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw this.refuse(`cannot be examined (${code(e) ?? String(e)})`);
      if (!create) return false;
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      try {
        mkdirSync(this.path, { mode: 0o700 });
        // Made here, so ours: the mode regardless of the umask.
        chmodSync(this.path, 0o700);
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
      st = lstatSync(this.path);
    }
    const why = unsafe(st);
    if (why) throw this.refuse(why);
    this.checked = true;
    return true;
  }

  /** A checked subdirectory's path, or null when it does not exist and create is false. */
  private sub(name: string, create: boolean): string | null {
    if (!this.root(create)) return null;
    const d = join(this.path, name);
    if (this.subs.has(name)) return d;
    let st: Stats;
    try {
      st = lstatSync(d);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
      if (!create) return null;
      try {
        mkdirSync(d, { mode: 0o700 });
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
      }
      st = lstatSync(d);
    }
    const why = unsafe(st);
    if (why) throw new EmuErrnoHint(errno.EACCES, `${d} ${why}: remove it (the store never follows links or shares its files)`);
    this.subs.add(name);
    return d;
  }

  file(sub: string, name: string): string {
    return join(this.path, sub, name);
  }

  /** Reads a regular file (never through a link) with read; null when there is none. */
  private readWith(sub: string, name: string, read: (fd: number) => string): ReadFile | null {
    if (this.sub(sub, false) === null) return null;
    const file = this.file(sub, name);
    let fd: number;
    try {
      fd = openSync(file, O_RDONLY | O_NOFOLLOW);
    } catch (e) {
      if (code(e) === 'ENOENT') return null;
      if (code(e) === 'ELOOP') throw new EmuErrnoHint(errno.ELOOP, `${file} is a symbolic link, which the store never follows: remove it`);
      throw e;
    }
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isFile()) throw new EmuErrnoHint(errno.EIO, `${file} is not a regular file: remove it`);
      return { text: read(fd), stat: { size: st.size, mtimeNs: st.mtimeNs } };
    } finally {
      closeSync(fd);
    }
  }

  /** A file's text, or null when it does not exist. */
  read(sub: string, name: string): ReadFile | null {
    return this.readWith(sub, name, (fd) => readFileSync(fd, 'utf8'));
  }

  /** The first bytes of a file (a cheap version check), or null when it does not exist. */
  head(sub: string, name: string, bytes: number): ReadFile | null {
    return this.readWith(sub, name, (fd) => {
      const buf = Buffer.alloc(bytes);
      return buf.toString('latin1', 0, readSync(fd, buf, 0, bytes, 0));
    });
  }

  /** A new private file holding text, under a temporary name in d; its name and stamp. */
  private temp(d: string, text: string): { tmp: string; stat: FileStamp } {
    const tmp = join(d, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, text);
      return { tmp, stat: fileStamp(fd) };
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    } finally {
      closeSync(fd);
    }
  }

  /** Replaces a file whole (written to a temporary name and renamed into place); its stamp. */
  write(sub: string, name: string, text: string): FileStamp {
    const d = this.sub(sub, true) as string;
    const { tmp, stat } = this.temp(d, text);
    try {
      renameSync(tmp, join(d, name));
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    }
    return stat;
  }

  /** Creates a file whole, unless one exists (then false): linked into place, which refuses an existing name. */
  create(sub: string, name: string, text: string): boolean {
    const d = this.sub(sub, true) as string;
    const { tmp } = this.temp(d, text);
    try {
      linkSync(tmp, join(d, name));
      return true;
    } catch (e) {
      if (code(e) === 'EEXIST') return false;
      throw e;
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Removes a file; false when there was none. */
  remove(sub: string, name: string): boolean {
    if (this.sub(sub, false) === null) return false;
    try {
      unlinkSync(this.file(sub, name));
      return true;
    } catch (e) {
      if (code(e) === 'ENOENT') return false;
      throw e;
    }
  }

  list(sub: string): string[] {
    const d = this.sub(sub, false);
    return d === null ? [] : readdirSync(d).sort();
  }

  /**
   * Runs fn holding the lock name.lock in sub, across processes: the lock file is created whole
   * (so it always names its holder), and one whose holder has died is broken. Breaking takes a
   * second lock, so two processes never both break (and one wrongly remove) the same lock.
   * Processes sharing a store must share a pid namespace, as on one machine.
   */
  withLock<T>(sub: string, name: string, fn: () => T): T {
    const lock = `${name}.lock`;
    const me = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (let wait = 0.2; !this.create(sub, lock, me); wait = Math.min(wait * 2, 10)) {
      const holder = this.read(sub, lock)?.text;
      if (holder === undefined) continue;
      if (holderGone(holder)) {
        this.breakLock(sub, lock, holder, me);
        continue;
      }
      if (Date.now() > deadline) {
        throw new EmuErrnoHint(errno.EBUSY, `${this.file(sub, lock)} has been held by process ${holder.split(' ')[0]} for over ` +
          `${LOCK_TIMEOUT_MS / 1000} s; if that process is hung, stop it or remove the file`);
      }
      sleep(wait * (0.5 + Math.random()));
    }
    try {
      return fn();
    } finally {
      this.remove(sub, lock);
    }
  }

  private breakLock(sub: string, lock: string, seen: string, me: string): void {
    const breaker = `${lock}.break`;
    if (!this.create(sub, breaker, me)) {
      const other = this.read(sub, breaker)?.text;
      if (other !== undefined && holderGone(other)) this.remove(sub, breaker);
      return;
    }
    try {
      // Nobody else breaks it meanwhile, and a dead holder does not release it: still the one seen.
      if (this.read(sub, lock)?.text === seen) this.remove(sub, lock);
    } finally {
      this.remove(sub, breaker);
    }
  }
}
