#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { createCommand } from './create.js';
import { deleteEntriesCommand } from './delete-entries.js';
import { demoCommand } from './demo.js';
import { drainCommand } from './drain.js';
import { dumpCommand } from './dump.js';
import { exportCommand } from './export.js';
import { EXIT_CODES, usageLine } from './command.js';
import { errorLine, EXIT_USAGE, exitCodeOf } from './errors.js';
import { listCommand } from './list.js';
import { exitOnClosedPipe } from './output.js';
import { loadCommand } from './load.js';
import { pinCommand } from './pin.js';
import { showCommand } from './show.js';
import { watchCommand } from './watch.js';

function program(): Command {
  const p = new Command('bpfmap')
    .description('eBPF maps from the shell: list, show, dump, watch, drain, load, create, pin, delete-entries, demo')
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
    .configureOutput({ outputError: (text, write) => write(usageLine('', text)) });
  for (const c of [listCommand(), showCommand(), dumpCommand(), watchCommand(), drainCommand(), loadCommand(), createCommand(),
    pinCommand(), deleteEntriesCommand(), demoCommand(), exportCommand()])
    p.addCommand(c);
  return p;
}

async function main(argv: string[]): Promise<number> {
  const p = program();
  let running = '';
  p.hook('preAction', (_p, action) => {
    running = action.name();
  });
  if (argv.length === 0) {
    process.stderr.write(p.helpInformation());
    return EXIT_USAGE;
  }
  exitOnClosedPipe(process.stdout);
  try {
    await p.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    // Commander has printed its own one-line message (or the help, which exits 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    process.stderr.write(errorLine(running, e) + '\n');
    return exitCodeOf(e);
  }
}

process.exitCode = await main(process.argv.slice(2));
