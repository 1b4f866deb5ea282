import { statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
