import { constants } from 'node:os';
/** The kernel-internal "operation not supported" that bpf(2) leaks to userspace (not in libc). */
export const ENOTSUPP = 524;
/** "File descriptor in bad state": Linux's, missing from Node's table; OBJ_GET_INFO_BY_FD uses it. */
export const EBADFD = 77;
const NAMES = new Map();
for (const [name, num] of Object.entries(constants.errno)) {
    // Aliases share numbers (EWOULDBLOCK/EAGAIN, EDEADLOCK/EDEADLK): keep the first, the usual name.
    if (!NAMES.has(num))
        NAMES.set(num, name);
}
NAMES.set(ENOTSUPP, 'ENOTSUPP');
if (!NAMES.has(EBADFD))
    NAMES.set(EBADFD, 'EBADFD');
export const errno = constants.errno;
/** The symbolic name of an errno value, e.g. 2 -> "ENOENT". */
export function errnoName(num) {
    return NAMES.get(num) ?? `E${num}`;
}
//# sourceMappingURL=errno.js.map