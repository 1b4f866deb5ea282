import { constants } from 'node:os';
/** The kernel-internal "operation not supported" that bpf(2) leaks to userspace (not in libc). */
export declare const ENOTSUPP = 524;
/** "File descriptor in bad state": Linux's, missing from Node's table; OBJ_GET_INFO_BY_FD uses it. */
export declare const EBADFD = 77;
export declare const errno: typeof constants.errno;
/** The symbolic name of an errno value, e.g. 2 -> "ENOENT". */
export declare function errnoName(num: number): string;
