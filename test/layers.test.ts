// The house's floors, kept by a test: every src/ file's imports are read and checked against the
// order below, and the files that make the bpf() calls may be imported (as values) only by the
// Linux adapter. The checker also runs on an in-memory tree with planted faults, so it is shown to fail.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';

/** Low to high: a file may import its own floor or one below. Floors with several names are siblings. */
const ORDER: readonly (readonly string[])[] = [
  ['sys'],
  ['codec'],
  ['btf'],
  ['emu'],
  ['kernel'],
  ['map'],
  ['prog', 'harvest', 'export'],
  ['cli'],
  ['index'],
];

/** Sibling imports that are allowed (importer floor -> imported floor): none is needed today. */
const SIBLING_EXCEPTIONS: readonly (readonly [string, string])[] = [];

/** The Linux adapter: the files that turn Kernel calls into bpf() calls (the worker makes asyncUpdater's). */
const LINUX_ADAPTER = ['src/kernel/linux.ts', 'src/kernel/update-worker.ts'];

/** Value imports of the syscall files outside the Linux adapter, each with its reason. */
const SYSCALL_EXCEPTIONS: Readonly<Record<string, string>> = {
  'src/kernel/cpus.ts': "the possible-CPU probe both kernels share asks the real kernel's per-CPU layout",
  'src/kernel/probe.ts': 'probeLinux asks whether the addon loads and bpf() answers before a LinuxKernel is made',
  'src/prog/program.ts': 'program load and test run: the Kernel seam has no program calls (the emulator runs no programs)',
  'src/cli/sink.ts': "the addon's pipe calls (FIONREAD, poll) for drain into a pipe, not bpf()",
  'src/map/dump.ts': "the addon's madvise(MADV_HUGEPAGE) for a dump's output buffers (sys/huge.ts), not bpf()",
  'src/map/parallel.ts': "the same madvise for a parallel dump's shared output (sys/huge.ts), not bpf()",
};

export interface Import {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/** src/x/y.ts -> 'x'; src/index.ts -> 'index'. */
function floorOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 2 ? (parts[1] as string).replace(/\.ts$/, '') : (parts[1] as string);
}

function rankOf(floor: string): number {
  const r = ORDER.findIndex((names) => names.includes(floor));
  if (r < 0) throw new Error(`src/${floor} is on no floor: add it to ORDER in test/layers.test.ts`);
  return r;
}

// Clause characters exclude parentheses, '=', ';' and quotes, so a match never spans code.
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?(?:([\w$*{},\s]+?)\s+from\s+)?'([^']+)'/gm;
// A dynamic import or a worker's module URL; other URLs (the addon's package root) are no imports.
const DYNAMIC = /\b(?:import\(|new URL\()\s*'(\.[^']+\.js)'/g;

/** The relative imports of one source file, as src/-rooted .ts paths. */
export function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const resolve = (spec: string): string => posix.join(posix.dirname(file), spec).replace(/\.js$/, '.ts');
  for (const m of text.matchAll(STATIC)) {
    const spec = m[4] as string;
    if (!spec.startsWith('.')) continue;
    const clause = m[3];
    // import { type A, type B } from ... is type-only too; export * / side-effect imports are values.
    const named =
      clause === undefined
        ? []
        : /^\{([^}]*)\}$/
            .exec(clause.trim())?.[1]
            ?.split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
    const typeOnly = m[2] !== undefined || (named !== undefined && named.length > 0 && named.every((s) => s.startsWith('type ')));
    out.push({ from: file, to: resolve(spec), typeOnly });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ from: file, to: resolve(m[1] as string), typeOnly: false });
  return out;
}

/** The src/sys files that call the addon (they import native.ts as a value), and native.ts itself. */
function syscallFiles(files: ReadonlyMap<string, string>): Set<string> {
  const out = new Set(['src/sys/native.ts']);
  for (const [file, text] of files)
    if (floorOf(file) === 'sys' && importsOf(file, text).some((i) => i.to === 'src/sys/native.ts' && !i.typeOnly)) out.add(file);
  return out;
}

/** Every broken rule in a tree (file -> text, paths rooted at src/), one line each. */
export function checkLayers(files: ReadonlyMap<string, string>): string[] {
  const faults: string[] = [];
  const syscalls = syscallFiles(files);
  for (const [file, text] of files) {
    const floor = floorOf(file);
    for (const i of importsOf(file, text)) {
      if (!i.to.startsWith('src/')) {
        faults.push(`${file} imports ${i.to}, outside src/`);
        continue;
      }
      const target = floorOf(i.to);
      if (target === floor) continue;
      const [a, b] = [rankOf(floor), rankOf(target)];
      if (b > a) faults.push(`${file} imports ${i.to}: ${floor} is below ${target} (${ORDER.map((n) => n.join(' | ')).join(' < ')})`);
      else if (a === b && !SIBLING_EXCEPTIONS.some(([x, y]) => x === floor && y === target))
        faults.push(`${file} imports ${i.to}: ${floor} and ${target} are siblings`);
      if (syscalls.has(i.to) && !i.typeOnly && !LINUX_ADAPTER.includes(file) && !(file in SYSCALL_EXCEPTIONS))
        faults.push(`${file} imports the syscall file ${i.to} outside the Linux adapter`);
    }
  }
  return faults;
}

function readTree(root: string, dir = 'src'): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) for (const [k, v] of readTree(root, rel)) out.set(k, v);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.set(rel, readFileSync(join(root, rel), 'utf8'));
  }
  return out;
}

// Compiled to dist/test/layers.test.js: the sources sit two levels up.
const ROOT = new URL('../..', import.meta.url).pathname;

describe('layers', () => {
  const tree = readTree(ROOT);

  test('every src/ import runs down the floors, and only the Linux adapter imports the syscall files', () => {
    assert.ok(tree.size > 50, `read ${tree.size} files from src/`);
    assert.deepEqual(checkLayers(tree), []);
  });

  test('each named exception is still needed (an exception nobody uses is dropped)', () => {
    const syscalls = syscallFiles(tree);
    for (const file of [...Object.keys(SYSCALL_EXCEPTIONS), ...LINUX_ADAPTER]) {
      const text = tree.get(file);
      assert.ok(text !== undefined, `${file} is named in test/layers.test.ts but does not exist`);
      assert.ok(
        importsOf(file, text).some((i) => syscalls.has(i.to) && !i.typeOnly),
        `${file} no longer imports a syscall file`,
      );
    }
  });

  test('the checker fails on a planted upward import, a sibling import and a stray syscall import', () => {
    const fixture = new Map([
      ['src/sys/native.ts', 'export function call(): void {}\n'],
      ['src/sys/obj.ts', "import { call } from './native.js';\nexport const pin = call;\n"],
      ['src/sys/constants.ts', 'export const X = 1;\n'],
      ['src/codec/int.ts', "import { X } from '../sys/constants.js';\nexport const u8 = X;\n"],
      ['src/kernel/linux.ts', "import { pin } from '../sys/obj.js';\nexport { pin };\n"],
      ['src/map/map.ts', "import type { pin } from '../sys/obj.js';\nexport type P = typeof pin;\n"],
      ['src/index.ts', "export * from './map/map.js';\n"],
    ]);
    assert.deepEqual(checkLayers(fixture), [], 'the clean fixture passes');

    const planted = new Map(fixture);
    planted.set(
      'src/codec/int.ts',
      "import { X } from '../sys/constants.js';\nimport {\n  type P,\n  other,\n} from '../map/map.js';\nexport const u8 = X;\n",
    );
    planted.set('src/export/maps.ts', "import { H } from '../harvest/harvester.js';\nexport const m = H;\n");
    planted.set('src/harvest/harvester.ts', "const w = new Worker(new URL('../sys/obj.js', import.meta.url));\nexport const H = w;\n");
    assert.deepEqual(checkLayers(planted), [
      `src/codec/int.ts imports src/map/map.ts: codec is below map (${ORDER.map((n) => n.join(' | ')).join(' < ')})`,
      'src/export/maps.ts imports src/harvest/harvester.ts: export and harvest are siblings',
      'src/harvest/harvester.ts imports the syscall file src/sys/obj.ts outside the Linux adapter',
    ]);
  });

  test('type-only imports are told from value imports', () => {
    const f = 'src/map/a.ts';
    const text =
      "import type { A } from './t.js';\nimport { type B, type C } from './u.js';\nimport { type D, e } from './v.js';\nexport * from './w.js';\nimport './x.js';\n";
    assert.deepEqual(
      importsOf(f, text).map((i) => [i.to, i.typeOnly]),
      [
        ['src/map/t.ts', true],
        ['src/map/u.ts', true],
        ['src/map/v.ts', false],
        ['src/map/w.ts', false],
        ['src/map/x.ts', false],
      ],
    );
  });
});
