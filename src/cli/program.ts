import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, outputTo } from './command.js';
import { errorLine, EXIT_USAGE, exitCodeOf } from './errors.js';
import type { CliIo } from './io.js';
import { exitOnClosedPipe } from './output.js';

/**
 * A command as `bpfmap --help` lists it, and the module that defines it. Only the module of the
 * command that runs is loaded (a shell loop of `bpfmap list` should not pay for the exporter's
 * YAML parser), so its summary and usage are repeated here; a test keeps them equal.
 */
interface CommandEntry {
  name: string;
  usage: string;
  summary: string;
  load: (io: CliIo) => Promise<Command>;
}

// One line per command, in the order of the help (prettier would break them up).
// prettier-ignore
const COMMANDS: CommandEntry[] = [
  { name: 'list', usage: '[options]', summary: 'list every map: id, type, name, key/value size, max entries, entries (arrays), memory, BTF id, flags, pins', load: async (io) => (await import('./list.js')).listCommand(io) },
  { name: 'show', usage: '[options] <by> [map]', summary: "a map's info: type, sizes, flags, BTF key and value types", load: async (io) => (await import('./show.js')).showCommand(io) },
  { name: 'dump', usage: '[options] <by> [map]', summary: "print every entry, read with LOOKUP_BATCH and streamed (decoded by the map's BTF, else as hex)", load: async (io) => (await import('./dump.js')).dumpCommand(io) },
  { name: 'watch', usage: '[options] <by> [map]', summary: 'a live full-screen view: top entries by a value field, per-second rates, entry count and read time', load: async (io) => (await import('./watch.js')).watchCommand(io) },
  { name: 'drain', usage: '[options] <by> [map]', summary: 'remove every entry with LOOKUP_AND_DELETE_BATCH and print what was removed (each exactly once)', load: async (io) => (await import('./drain.js')).drainCommand(io) },
  { name: 'load', usage: '[options] <by> [map]', summary: 'write entries (ndjson or JSON, as dump prints them) with UPDATE_BATCH', load: async (io) => (await import('./load.js')).loadCommand(io) },
  { name: 'create', usage: '[options] <path>', summary: 'create a map and pin it at PATH (a map nobody holds is freed when the command exits)', load: async (io) => (await import('./create.js')).createCommand(io) },
  { name: 'pin', usage: '[options] <by> <map> <path>', summary: 'pin a map at PATH on a bpf filesystem, so it outlives its programs', load: async (io) => (await import('./pin.js')).pinCommand(io) },
  { name: 'delete-entries', usage: '[options] <by> [map]', summary: 'delete entries with DELETE_BATCH: the keys given, the keys of entries read from stdin, or all', load: async (io) => (await import('./delete-entries.js')).deleteEntriesCommand(io) },
  { name: 'hist', usage: '[options] <by> [map]', summary: "print a histogram map (bucket index key, count value) as bars, like bcc's print_log2_hist; per-CPU counts are summed", load: async (io) => (await import('./hist.js')).histCommand(io) },
  { name: 'demo', usage: '[options]', summary: 'create a pinned map of 100,000 flows, read it with LOOKUP_BATCH and element by element, print the top flows and both timings', load: async (io) => (await import('./demo.js')).demoCommand(io) },
  { name: 'lookup', usage: '[options] <by> [map]', summary: 'print one entry, by its key (LOOKUP_ELEM): one JSON line, as dump prints entries', load: async (io) => (await import('./element.js')).lookupCommand(io) },
  { name: 'update', usage: '[options] <by> [map]', summary: 'write one entry (UPDATE_ELEM): create it or replace its value', load: async (io) => (await import('./element.js')).updateCommand(io) },
  { name: 'delete', usage: '[options] <by> [map]', summary: 'delete one entry, by its key (DELETE_ELEM)', load: async (io) => (await import('./element.js')).deleteCommand(io) },
  { name: 'getnext', usage: '[options] <by> [map]', summary: "print the key after --key in the kernel's order, or the first key without it (GET_NEXT_KEY)", load: async (io) => (await import('./element.js')).getnextCommand(io) },
  { name: 'freeze', usage: '[options] <by> [map]', summary: 'make a map read-only to userspace for good (FREEZE); BPF programs may still write it', load: async (io) => (await import('./element.js')).freezeCommand(io) },
  { name: 'push', usage: '[options] <by> [map]', summary: 'add a value to a queue or stack (UPDATE_ELEM without a key)', load: async (io) => (await import('./element.js')).pushCommand(io) },
  { name: 'pop', usage: '[options] <by> [map]', summary: 'remove and print the next value of a queue or stack (LOOKUP_AND_DELETE_ELEM)', load: async (io) => (await import('./element.js')).popCommand(io) },
  { name: 'peek', usage: '[options] <by> [map]', summary: 'print the next value of a queue or stack, leaving it there (LOOKUP_ELEM)', load: async (io) => (await import('./element.js')).peekCommand(io) },
  { name: 'gen', usage: '[options] <by> [map]', summary: 'write a TypeScript module with the key and value types and codecs of a map (or of every map pinned in a directory), from its BTF', load: async (io) => (await import('./gen.js')).genCommand(io) },
  { name: 'export', usage: '[options]', summary: "serve map contents as Prometheus metrics (/metrics), as a config says, or every map's metadata with --maps", load: async (io) => (await import('./export.js')).exportCommand(io) },
];

/** The package's version, from its package.json (dist/src/cli/ -> the package root). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** The command argv runs (`help X` runs X's help), if it names one. */
function commandOf(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => !a.startsWith('-'));
  return argv[i] === 'help' ? argv[i + 1] : argv[i];
}

/** The program with the command argv runs defined in full, and the others by name and summary only. */
async function program(io: CliIo, argv: string[]): Promise<Command> {
  const p = new Command('bpfmap')
    .description(`eBPF maps from the shell: ${COMMANDS.map((c) => c.name).join(', ')}`)
    .version(version(), '-V, --version', "bpfmap's version")
    .addHelpText(
      'after',
      `
Maps are chosen like bpftool chooses them: id N, pinned PATH or name NAME.

Examples:
  $ bpfmap demo
  $ bpfmap list
  $ bpfmap dump id 42 --format ndjson | jq -c .
  $ bpfmap watch pinned /sys/fs/bpf/flows --top 20

${EXIT_CODES}
`,
    )
    .exitOverride()
    .configureOutput(outputTo(io, ''))
    .configureHelp({ subcommandTerm: (c) => `${c.name()} ${c.usage()}` });
  const wanted = commandOf(argv);
  for (const entry of COMMANDS) {
    const c = entry.name === wanted ? await entry.load(io) : new Command(entry.name).usage(entry.usage).description(entry.summary);
    p.addCommand(c.configureOutput(outputTo(io, c.name())));
  }
  return p;
}

/** Each command's name, usage and summary as the help lists it, and as its own module defines it: for the test that keeps them equal. */
export async function commandSummaries(io: CliIo): Promise<Array<{ listed: string[]; defined: string[] }>> {
  return Promise.all(
    COMMANDS.map(async (e) => {
      const c = await e.load(io);
      return { listed: [e.name, e.usage, e.summary], defined: [c.name(), c.usage(), c.description()] };
    }),
  );
}

/**
 * Runs the CLI on argv (the arguments after the program's name) with io's streams, environment
 * and signals, and resolves to the exit code: 0 ok, 1 runtime error, 2 usage error, 128 + a
 * signal's number for a drain it stopped. Never throws, and never ends the process itself except
 * through io.exit.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const p = await program(io, argv);
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
    // Commander has printed its own one-line message (or the help, or the version, which exit 0).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    io.stderr.write(errorLine(running, e) + '\n');
    return exitCodeOf(e);
  }
}
