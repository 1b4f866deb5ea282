// Pin paths as the kernel's path walk resolves them on the emulated bpffs: empty components and
// "." are nothing, ".." goes up (lexically: the emulated bpffs has no symbolic links), a pin
// walked through as a directory is ENOTDIR, and the kernel's limits hold (PATH_MAX, NAME_MAX).
// So "/sys/fs/bpf//a", "/sys/fs/bpf/./a" and "/sys/fs/bpf/d/../a" are all the pin "/sys/fs/bpf/a".
import { errno } from '../sys/errno.js';
import { fail } from './errno.js';

/** Where emulated pins live, as on Linux: the emulator's pin paths are the ones a program uses on the real kernel. */
export const EMU_BPFFS = '/sys/fs/bpf';
const BPFFS_PARTS = EMU_BPFFS.split('/').slice(1);
/** Bytes of a path with its NUL (getname's limit), and of one component (simple_lookup's). */
const PATH_MAX = 4096;
const NAME_MAX = 255;

export interface PinPath {
  /** The absolute path, without empty, "." or ".." components. */
  path: string;
  /** How the path ends: a name; a name and "/" (it must be a directory); "." or ".." (a directory). */
  end: 'name' | 'slash' | 'dot';
  /** Where it is: below the emulated bpffs' root; that root or a directory above it; elsewhere. */
  where: 'bpffs' | 'directory' | 'elsewhere';
}

/** Whether parts (a path's components) are inside the emulated bpffs (its root included). */
function inBpffs(parts: readonly string[]): boolean {
  return parts.length >= BPFFS_PARTS.length && BPFFS_PARTS.every((p, i) => parts[i] === p);
}

/**
 * Resolves path (relative to cwd, as the kernel does) as a path walk on the emulated bpffs would;
 * isPin tells whether something is pinned at an absolute path. Throws EmuErrno: ENAMETOOLONG,
 * ENOENT (empty path), ENOTDIR (a pin used as a directory).
 */
export function resolvePinPath(path: string, cwd: string, isPin: (path: string) => boolean): PinPath {
  if (Buffer.byteLength(path) >= PATH_MAX) fail(errno.ENAMETOOLONG);
  if (path === '') fail(errno.ENOENT);
  const stack = path.startsWith('/') ? [] : cwd.split('/').filter((c) => c !== '');
  const names = path.split('/');
  let lastName = names.length - 1;
  while (lastName > 0 && names[lastName] === '') lastName--;
  let end: PinPath['end'] = 'dot';
  for (let i = 0; i <= lastName; i++) {
    const c = names[i] as string;
    if (c === '') continue;
    if (c === '.' || c === '..') {
      if (c === '..') stack.pop();
      end = 'dot';
      continue;
    }
    const onBpffs = inBpffs(stack);
    if (onBpffs && Buffer.byteLength(c) > NAME_MAX) fail(errno.ENAMETOOLONG);
    stack.push(c);
    end = i === names.length - 1 ? 'name' : 'slash';
    if (i < lastName && onBpffs && isPin(`/${stack.join('/')}`)) fail(errno.ENOTDIR);
  }
  const where = inBpffs(stack) ? (stack.length > BPFFS_PARTS.length ? 'bpffs' : 'directory')
    : BPFFS_PARTS.slice(0, stack.length).every((p, i) => stack[i] === p) ? 'directory' : 'elsewhere';
  return { path: `/${stack.join('/')}`, end, where };
}
