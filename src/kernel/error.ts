import { COMMAND_NAMES } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { type HintContext, hintRow } from './hints.js';

/** Which map an error is about, when known. */
export interface MapRef {
  id?: number;
  name?: string;
  path?: string;
}

function describeMap(map: MapRef | undefined): string {
  if (!map) return '';
  const parts: string[] = [];
  if (map.id !== undefined) parts.push(`id ${map.id}`);
  if (map.name) parts.push(`"${map.name}"`);
  if (map.path) parts.push(map.path);
  return parts.length ? ` on map ${parts.join(' ')}` : '';
}

/** A bpf(2) command failed: which command, which errno, which map, and what to do about it. */
export class BpfError extends Error {
  override readonly name = 'BpfError';
  readonly command: string;
  readonly cmd: number;
  readonly errno: number;
  readonly code: string;
  hint: string | undefined;
  /** Which row of the hint table (kernel/hints.ts) chose the hint; undefined for a hint given by the thrower. */
  hintId: string | undefined;
  /** What the library knew of the map when it chose the hint. */
  context: HintContext;
  map: MapRef | undefined;
  /** For batch commands: the attr's count as the kernel left it. */
  readonly count: number | undefined;
  /** For batch writes: how many elements were applied before the failing one (none after it). */
  readonly applied: number | undefined;

  constructor(
    cmd: number,
    errno: number,
    opts: { map?: MapRef; count?: number; applied?: number; elemFlags?: number; hint?: string; context?: HintContext } = {},
  ) {
    super('');
    this.cmd = cmd;
    this.command = COMMAND_NAMES[cmd] ?? `bpf command ${cmd}`;
    this.errno = errno;
    this.code = errnoName(errno);
    this.context = { ...opts.context, ...(opts.elemFlags === undefined ? {} : { elemFlags: opts.elemFlags }) };
    this.hint = opts.hint;
    this.hintId = undefined;
    if (opts.hint === undefined) this.choose();
    this.map = opts.map;
    this.count = opts.count;
    this.applied = opts.applied;
    this.message = this.compose();
  }

  /** Adds which map this was about (the kernel layer knows fds, the map layer knows names). */
  withMap(map: MapRef): this {
    if (!this.map) {
      this.map = map;
      this.message = this.compose();
    }
    return this;
  }

  /**
   * Adds what is known of the map (its type, flags, how the fd was opened, frozen) and chooses the
   * hint again from the table, unless the thrower gave its own.
   */
  refine(ctx: HintContext): this {
    if (this.hint !== undefined && this.hintId === undefined) return this;
    this.context = { ...ctx, ...this.context };
    this.choose();
    this.message = this.compose();
    return this;
  }

  private choose(): void {
    const row = hintRow(this.cmd, this.errno, this.context);
    this.hintId = row?.id;
    this.hint = row?.hint(this.context, this.cmd);
  }

  private compose(): string {
    const applied = this.applied !== undefined ? ` after ${this.applied} element(s) applied` : '';
    return `${this.command}${describeMap(this.map)} failed: ${this.code}${applied}` + (this.hint ? ` (${this.hint})` : '');
  }
}

/** Whether e is a BpfError with this errno name (e.g. "ENOENT"). */
export function isErrno(e: unknown, name: string): e is BpfError {
  return e instanceof BpfError && e.code === name;
}

