import { Command, CommanderError } from 'commander';
import { createCommand } from './create.js';
import { deleteEntriesCommand } from './delete-entries.js';
import { demoCommand } from './demo.js';
import { drainCommand } from './drain.js';
import { dumpCommand } from './dump.js';
import { exportCommand } from './export.js';
import { followCommand } from './follow.js';
import { genCommand } from './gen.js';
import { EXIT_CODES, outputTo } from './command.js';
import { errorLine, EXIT_USAGE, exitCodeOf } from './errors.js';
import type { CliIo } from './io.js';
import { listCommand } from './list.js';
import { exitOnClosedPipe } from './output.js';
import { loadCommand } from './load.js';
import { pinCommand } from './pin.js';
import { showCommand } from './show.js';
import { watchCommand } from './watch.js';

function program(io: CliIo): Command {
  const p = new Command('bpfmap')
    .description('eBPF maps from the shell: list, show, dump, watch, drain, follow, load, create, pin, delete-entries, demo, export, gen')
    .addHelpText('after', `
Maps are chosen like bpftool chooses them: id N, pinned PATH or name NAME.

Examples:
  $ bpfmap demo
  $ bpfmap list
  $ bpfmap dump id 42 --format ndjson | jq -c .
  $ bpfmap watch pinned /sys/fs/bpf/flows --top 20

${EXIT_CODES}
`)
    .exitOverride()
    .configureOutput(outputTo(io, ''));
  for (const c of [listCommand(io), showCommand(io), dumpCommand(io), watchCommand(io), drainCommand(io), followCommand(io), loadCommand(io), createCommand(io),
    pinCommand(io), deleteEntriesCommand(io), demoCommand(io), exportCommand(io), genCommand(io)])
    p.addCommand(c.configureOutput(outputTo(io, c.name())));
  return p;
}

/**
 * Runs the CLI on argv (the arguments after the program's name) with io's streams, environment
 * and signals, and resolves to the exit code: 0 ok, 1 runtime error, 2 usage error, 128 + a
 * signal's number for a drain it stopped. Never throws, and never ends the process itself except
 * through io.exit.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const p = program(io);
  let running = '';
  p.hook('preAction', (_p, action) => {
    running = action.name();
  });
  if (argv.length === 0) {
    io.stderr.write(p.helpInformation());
    return EXIT_USAGE;
  }
  if (io.exit) exitOnClosedPipe(io.stdout, io.exit);
  try {
    await p.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has printed its own one-line message (or the help, which exits 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    io.stderr.write(errorLine(running, e) + '\n');
    return exitCodeOf(e);
  }
}
