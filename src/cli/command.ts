import { Command, InvalidArgumentError, type OutputConfiguration } from 'commander';
import type { CliIo } from './io.js';

// The help of the options every command shares: here, not with the code behind them, so that
// `bpfmap --help` loads no kernel.
const SELECTOR_HELP = 'the map: id N | pinned PATH | name NAME';
const KERNEL_HELP = 'kernel to use: linux (bpf(2)) or emulated (in-process, pins kept under BPFMAP_EMU_DIR); default: BPFMAP_KERNEL, else linux where bpf() works, else emulated';

const EXIT_CODES = 'Exit codes: 0 ok, 1 runtime error (one line on stderr, with a hint), 2 usage error.';

/** Commander's message (`error: unknown option '--x'`) as one line that points at the help. */
export function usageLine(command: string, text: string): string {
  const msg = text.replace(/^error:\s*/i, '').replace(/\s*\n\s*/g, ' ').trim();
  return `bpfmap${command ? ` ${command}` : ''}: ${msg} (see bpfmap ${command ? `${command} ` : ''}--help)\n`;
}

/** A subcommand with its examples and the exit codes in its help (its output: outputTo). */
export function newCommand(name: string, summary: string, examples: string[]): Command {
  return new Command(name)
    .description(summary)
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n\n${EXIT_CODES}\n`)
    .exitOverride();
}

/** Commander's output for command (the program when ''): help and usage errors to io's streams, as wide as its terminal. */
export function outputTo(io: Pick<CliIo, 'stdout' | 'stderr'>, command: string): OutputConfiguration {
  return {
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    outputError: (text, write) => write(usageLine(command, text)),
    getOutHelpWidth: () => (io.stdout.isTTY && io.stdout.columns) || 80,
    getErrHelpWidth: () => (io.stderr.isTTY && io.stderr.columns) || 80,
  };
}

/**
 * The words that choose a map: `id 42`, `pinned /sys/fs/bpf/x`, `name flows`, or (shorthand) a
 * path alone, `/sys/fs/bpf/x`, which is `pinned` (a command with more arguments after the map has no shorthand).
 */
export function withMapArgs(c: Command, shorthand = true): Command {
  return shorthand
    ? c.argument('<by>', `${SELECTOR_HELP.replace('the map: ', 'how the map is chosen: ')}, or a pin path alone (starting with /)`).argument('[map]', 'its id, pin path or name')
    : c.argument('<by>', SELECTOR_HELP.replace('the map: ', 'how the map is chosen: ')).argument('<map>', 'its id, pin path or name');
}

export function withKernel(c: Command): Command {
  return c.option('--kernel <kind>', KERNEL_HELP);
}

/** An integer option parser: a usage error (exit 2) for anything but an integer >= min. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

export { EXIT_CODES };
