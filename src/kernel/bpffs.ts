import { readdirSync, readFileSync, statfsSync, statSync, type Dirent } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errno } from '../sys/errno.js';
import type { HintContext } from './hints.js';

/** statfs(2)'s f_type of a bpf filesystem (linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;
/** Where bpf filesystems are mounted by convention, and where a fresh machine may have none. */
export const BPFFS = '/sys/fs/bpf';
export const MOUNT_BPFFS = `mount -t bpf bpf ${BPFFS}`;

/** Whether dir is on a bpf filesystem; null when that cannot be told (missing, not searchable). */
export function onBpffs(dir: string): boolean | null {
  try {
    return statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return null;
  }
}

function missing(dir: string): boolean {
  try {
    statfsSync(dir);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const NO_BPFFS = `no bpf filesystem is mounted at ${BPFFS}: mount one as root with \`${MOUNT_BPFFS}\``;

/**
 * Why a pin at path cannot work, told from the path and its directory: no bpf filesystem at
 * /sys/fs/bpf, a directory where the pin would be, a directory off any bpf filesystem, or a
 * directory that does not exist. Undefined when the
 * directory is on a bpf filesystem (the errno's own hint then stands) or cannot be examined.
 * OBJ_PIN and OBJ_GET answer these cases with ENOENT, EPERM or EACCES, whose usual hints
 * (nothing pinned, privileges) would send the user the wrong way.
 */
export function pinPathProblem(path: string): string | undefined {
  const dir = dirname(resolve(path));
  const underBpffs = dir === BPFFS || dir.startsWith(`${BPFFS}/`);
  if (underBpffs && onBpffs(BPFFS) === false) return NO_BPFFS;
  if (isDirectory(path)) return `${resolve(path)} is a directory, not a pin`;
  if (missing(dir)) return `the directory ${dir} does not exist: create it on a bpf filesystem first, mkdir -p ${dir}`;
  if (onBpffs(dir) === false)
    return `${dir} is not on a bpf filesystem: pins live on one, such as ${BPFFS}, which \`${MOUNT_BPFFS}\` mounts if none is there`;
  return undefined;
}

/** The errnos a pin path's problem explains (OBJ_PIN and OBJ_GET answer them for a bad path). */
const PATH_ERRNOS = new Set([errno.ENOENT, errno.EPERM, errno.EACCES, errno.EINVAL]);

/** The hint context of an OBJ_PIN or OBJ_GET that failed with err at path: its path problem, if that explains err. */
export function pathContext(err: number, path: string): HintContext {
  const pathProblem = PATH_ERRNOS.has(err) ? pinPathProblem(path) : undefined;
  return pathProblem === undefined ? {} : { pathProblem };
}

/** The mount points of the bpf filesystems in a mountinfo text (proc(5): field 5, then fstype after " - "). */
export function bpffsMounts(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] !== 'bpf') continue;
    const point = left?.split(' ')[4];
    // Spaces and the like are written as octal escapes (\040).
    if (point) out.push(point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return [...new Set(out)];
}

/** At most this many pins are looked at, and this deep: a walk of a bpf filesystem stays bounded. */
export const PIN_WALK_LIMIT = 10_000;
const PIN_WALK_DEPTH = 16;

/**
 * The files (pins) under the bpf filesystems mounted here, in no particular order, at most limit;
 * directories that cannot be read are left out. Pins of programs and links are in it too.
 */
export function bpffsFiles(limit = PIN_WALK_LIMIT): string[] {
  let roots: string[];
  try {
    roots = bpffsMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    roots = [BPFFS];
  }
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = join(dir, e.name);
      if (e.isFile()) out.push(p);
      else if (e.isDirectory() && depth < PIN_WALK_DEPTH) walk(p, depth + 1);
    }
  };
  for (const r of roots) walk(r, 0);
  return out;
}
