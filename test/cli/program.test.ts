import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { commandSummaries, main } from '../../src/cli/program.js';
import type { CliIo } from '../../src/cli/io.js';
import { Captured, CLI, lines, runMain } from '../helpers/cli.js';
import { loadedModules } from '../helpers/loaded.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';
import { closeFixture, fixture } from '../helpers/maps.js';

/** An io whose streams the test reads, with an empty stdin and signals the test sends. */
function testIo(stdout = new Captured()): CliIo & { stdout: Captured; stderr: Captured; signals: EventEmitter } {
  return { stdin: Readable.from([]), stdout, stderr: new Captured(), env: { ...process.env }, signals: new EventEmitter() };
}

describe('main(argv, io)', () => {
  test('writes help and usage errors to io\'s streams and resolves to the exit code, leaving the process alone', async () => {
    const before = process.exitCode;
    const none = testIo();
    assert.equal(await main([], none), 2);
    assert.match(none.stderr.text, /^Usage: bpfmap \[options\] \[command\]/);
    assert.equal(none.stdout.text, '');
    const help = testIo();
    assert.equal(await main(['dump', '--help'], help), 0);
    assert.match(help.stdout.text, /^Usage: bpfmap dump \[options\] <by> \[map\]/);
    assert.match(help.stdout.text, /Exit codes: 0 ok, 1 runtime error/);
    assert.equal(help.stderr.text, '');
    const bad = testIo();
    assert.equal(await main(['dump', '--bogus'], bad), 2);
    assert.equal(bad.stderr.text, 'bpfmap dump: unknown option \'--bogus\' (see bpfmap dump --help)\n');
    const runtime = testIo();
    assert.equal(await main(['show', 'pinned', '/sys/fs/bpf/bpfmap-no-such-pin-here', '--kernel', 'emulated'], runtime), 1);
    assert.match(runtime.stderr.text, /^bpfmap show: .*ENOENT/);
    assert.equal(process.exitCode, before, 'main never sets the process\'s exit code: the bin shim does');
  });

  test('the help summary names every command, and lists each', async () => {
    const help = testIo(new Captured(true, 400));
    assert.equal(await main(['--help'], help), 0);
    const listed = [...help.stdout.text.matchAll(/^  ([a-z-]+) \[options\]/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
    assert.ok(listed.includes('export'), 'export is a command');
    const summary = /^eBPF maps from the shell: (.*)$/m.exec(help.stdout.text)?.[1]?.split(', ');
    assert.deepEqual(summary, listed);
  });

  test('help is as wide as io\'s terminal', async () => {
    const wide = testIo(new Captured(true, 200));
    assert.equal(await main(['--help'], wide), 0);
    const piped = testIo();
    assert.equal(await main(['--help'], piped), 0);
    // Descriptions wrap at the width: at 200 columns each command takes one line.
    const lineCount = (text: string): number => text.split('\n').length;
    assert.ok(lineCount(wide.stdout.text) < lineCount(piped.stdout.text) - 10, 'fewer lines on the wide terminal');
    assert.match(wide.stdout.text, /\n  demo \[options\] +create a pinned map of 100,000 flows, read it with LOOKUP_BATCH and element by element, print the top flows and both timings\n/);
  });

  test('the kernel is chosen by BPFMAP_KERNEL in io\'s environment', async () => {
    const emulated = await runMain(['list'], { env: { BPFMAP_KERNEL: 'emulated' } });
    assert.equal(emulated.code, 0, emulated.stderr);
    assert.match(emulated.stderr, /^bpfmap list: the emulated kernel's maps/);
    const bad = await runMain(['list'], { env: { BPFMAP_KERNEL: 'bsd' } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^bpfmap list: BPFMAP_KERNEL must be "linux" or "emulated", got "bsd"/);
  });

  test('a signal on io.signals stops a drain: exit 128 + its number, and what was not written stays in the map', async (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'hash', 100);
    try {
      const io = testIo();
      // SIGTERM arrives as the first entries are written.
      const write = io.stdout._write.bind(io.stdout);
      let sent = false;
      io.stdout._write = (chunk, encoding, done) => {
        if (!sent) io.signals.emit('SIGTERM', 'SIGTERM');
        sent = true;
        write(chunk, encoding, done);
      };
      const code = await main(['drain', 'id', String(f.map.id), '--batch', '8', '--no-progress'], io);
      assert.equal(code, 128 + 15, io.stderr.text);
      const written = lines(io.stdout.text).length;
      assert.ok(written > 0 && written < 100, `${written} entries written`);
      const were = written === 1 ? '1 entry was' : `${written} entries were`;
      assert.equal(io.stderr.text, `bpfmap drain: stopped by SIGTERM after ${were} written\n`);
      assert.equal(f.map.dump().count, 100 - written, 'the rest is still in the map');
      assert.equal(io.signals.listenerCount('SIGTERM'), 0, 'drain took its handlers off');
    } finally {
      closeFixture(f);
    }
  });

  test('no command imports another: what they share lives in modules of its own', () => {
    const dir = new URL('../../../src/cli/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    const source = (f: string): string => readFileSync(new URL(f, dir), 'utf8');
    const commands = files.filter((f) => /^export function \w+Command\(io: CliIo\): Command/m.test(source(f)));
    assert.ok(commands.length >= 11, `the commands: ${commands.join(', ')}`);
    for (const f of commands) {
      const imported = [...source(f).matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`);
      assert.deepEqual(imported.filter((i) => commands.includes(i)), [], `${f} imports a command`);
    }
  });
});

describe('startup: each command loads only what it needs', () => {
  test('the help lists each command as its own module defines it', async () => {
    for (const { listed, defined } of await commandSummaries(testIo())) assert.deepEqual(listed, defined);
  });

  test('--version prints the package version', async () => {
    const io = testIo();
    assert.equal(await main(['--version'], io), 0);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(io.stdout.text, `${pkg.version}\n`);
  });

  test('bpfmap --help loads no command, kernel or library module', () => {
    const { modules, stdout } = loadedModules({ script: CLI, args: ['--help'] });
    assert.match(stdout, /^Usage: bpfmap/);
    const ours = modules.filter((m) => m.includes('/dist/src/')).map((m) => m.replace(/.*\/dist\/src\//, ''));
    assert.deepEqual(ours.filter((m) => !/^cli\/(main|io|program|command|errors|output)\.js$/.test(m) && !/^(kernel\/error|kernel\/hints|sys\/errno|sys\/constants)\.js$/.test(m)), []);
    assert.deepEqual(modules.filter((m) => /yaml|cli-progress/.test(m)), []);
  });

  test('bpfmap list on the real kernel loads no emulator, codec, BTF, exporter or progress bar', (t) => {
    if (!linuxAvailable(t)) return;
    const { modules } = loadedModules({ script: CLI, args: ['list'], env: { BPFMAP_KERNEL: '' } });
    assert.ok(modules.some((m) => m.endsWith('/dist/src/kernel/linux.js')));
    assert.deepEqual(modules.filter((m) => /\/dist\/src\/(emu|codec|btf|export|map\/map)|yaml|cli-progress/.test(m)), []);
  });

  test('bpfmap dump into a pipe loads neither the progress bar nor the exporter', (t) => {
    if (!linuxAvailable(t)) return;
    const f = fixture(LINUX.kernel(), 'hash', 10);
    try {
      const { modules, stdout } = loadedModules({ script: CLI, args: ['dump', 'id', String(f.map.id)] });
      assert.equal(lines(stdout).length, 10);
      assert.deepEqual(modules.filter((m) => /\/dist\/src\/export|yaml|cli-progress/.test(m)), []);
    } finally {
      closeFixture(f);
    }
  });
});
