import { BpfError } from '../kernel/error.js';

/** Exit codes of the CLI: documented in every command's help. */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** Bad arguments or input the user can fix by changing the command line: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An error that says all there is to say in its message, with its own exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** One line for stderr: the message of the error with its hint, never a stack trace. */
export function errorLine(command: string, e: unknown): string {
  const prefix = command ? `bpfmap ${command}: ` : 'bpfmap: ';
  if (e instanceof UsageError) return `${prefix}${e.message} (see bpfmap ${command ? `${command} ` : ''}--help)`;
  if (e instanceof BpfError) return prefix + e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    // System errors from fs (EPIPE, EACCES) already say which call and path failed.
    return prefix + (code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message);
  }
  return prefix + String(e);
}

/** Exit code for an error: 2 for usage errors, 1 for everything that failed at run time, or the CliError's own. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  return e instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
}
