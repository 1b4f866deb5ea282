// What `import 'bpfmap'` costs a user: the library without the exporter's YAML parser, HTTP server
// or the CLI's modules, which `bpfmap/export` and the CLI load for themselves.
//
// Every name src/index.ts exports carries a doc comment (what the API reference, npm run docs,
// is made of). The checker reads the sources: each exported name is followed to the file that
// declares it, and the declaration must sit under a /** ... */ comment. It also runs on planted
// faults, so it is shown to fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadedModules } from './helpers/loaded.js';

// The package root: `bpfmap` resolves to this package through its own exports, as for a user.
const root = fileURLToPath(new URL('../..', import.meta.url));

test("import('bpfmap') loads no YAML parser, exporter or CLI module", () => {
  const { modules, stdout } = loadedModules({
    code: "const m = await import('bpfmap'); console.log(typeof m.BpfMap, typeof m.Exporter)",
    cwd: root,
  });
  assert.equal(stdout.trim(), 'function undefined');
  assert.ok(
    modules.some((m) => m.endsWith('/dist/src/index.js')),
    'the hook saw the index load',
  );
  assert.deepEqual(
    modules.filter((m) => /\/node_modules\/yaml\/|\/dist\/src\/(export|cli)\/|^node:http$|cli-progress|commander/.test(m)),
    [],
  );
});

test("import('bpfmap/export') gives the exporter, with its config parser", () => {
  const { modules, stdout } = loadedModules({
    code: "const m = await import('bpfmap/export'); console.log(typeof m.Exporter, typeof m.parseConfig, typeof m.MetricsServer)",
    cwd: root,
  });
  assert.equal(stdout.trim(), 'function function function');
  assert.ok(modules.some((m) => m.includes('/node_modules/yaml/')));
});

const ROOT = new URL('../../', import.meta.url).pathname;

type Read = (file: string) => string;

const DECL = (name: string): RegExp =>
  new RegExp(
    `^export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:function\\*?|class|const|let|interface|type|enum)\\s+${name}\\b`,
    'm',
  );

/** Whether the text just above offset `at` ends a /** comment (blank lines and nothing else between). */
function documentedAt(text: string, at: number): boolean {
  const before = text.slice(0, at).trimEnd();
  if (!before.endsWith('*/')) return false;
  const open = before.lastIndexOf('/*');
  return open >= 0 && before.startsWith('/**', open);
}

/** The names a module exports by name (export { a, b as c } from / export type {...} from), with their sources. */
function reExports(text: string): { name: string; local: string; from: string | undefined }[] {
  const out: { name: string; local: string; from: string | undefined }[] = [];
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}(?:\s+from\s+'([^']+)')?/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const p = part.trim().replace(/^type\s+/, '');
      if (!p) continue;
      const [local, name] = p.split(/\s+as\s+/) as [string, string | undefined];
      out.push({ name: name ?? local, local, from: m[2] });
    }
  }
  return out;
}

/** The names exported by `export NAME` declarations in a module. */
function declared(text: string): string[] {
  return [
    ...text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type|enum)\s+(\w+)/gm),
  ].map((m) => m[1] as string);
}

/** Every undocumented export reachable from `entry`, as "name (file)". */
export function undocumented(entry: string, read: Read): string[] {
  const missing: string[] = [];
  const resolve = (from: string, spec: string): string => posix.join(posix.dirname(from), spec).replace(/\.js$/, '.ts');
  const check = (file: string, name: string, depth: number): void => {
    const text = read(file);
    const m = DECL(name).exec(text);
    if (m) {
      if (!documentedAt(text, m.index)) missing.push(`${name} (${file})`);
      return;
    }
    const re = reExports(text).find((r) => r.name === name);
    if (re && re.from && depth < 8) return check(resolve(file, re.from), re.local, depth + 1);
    missing.push(`${name} (${file}: no declaration found)`);
  };
  const text = read(entry);
  for (const r of reExports(text)) if (r.from) check(resolve(entry, r.from), r.local, 0);
  // export type * from: every declaration of that module.
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\*\s+from\s+'([^']+)'/gm)) {
    const file = resolve(entry, m[1] as string);
    for (const name of declared(read(file))) check(file, name, 0);
  }
  // export * as ns from: the namespace is documented where it is exported.
  for (const m of text.matchAll(/^export\s+\*\s+as\s+(\w+)\s+from/gm)) if (!documentedAt(text, m.index)) missing.push(`${m[1]} (${entry})`);
  return missing;
}

describe('the public API', () => {
  test('every export of src/index.ts has a doc comment', () => {
    const missing = undocumented('src/index.ts', (f) => readFileSync(ROOT + f, 'utf8'));
    assert.deepEqual(missing, [], `undocumented exports:\n  ${missing.join('\n  ')}`);
  });

  test('the checker finds planted faults: a bare declaration, a line comment, a re-export chain, a namespace', () => {
    const files: Record<string, string> = {
      'src/index.ts':
        "export { a, b as bee } from './x.js';\nexport type { T } from './y.js';\nexport * as ns from './z.js';\nexport type * from './w.js';\n",
      'src/x.ts': '/** A. */\nexport function a(): void {}\n// not a doc comment\nexport const b = 1;\n',
      'src/y.ts': "export { T } from './t.js';\n",
      'src/t.ts': 'export interface T {}\n',
      'src/z.ts': '/** Z. */\nexport const z = 1;\n',
      'src/w.ts': '/** W. */\nexport type W = 1;\nexport type V = 2;\n',
    };
    const read = (f: string): string => {
      const t = files[f];
      if (t === undefined) throw new Error(`no ${f}`);
      return t;
    };
    assert.deepEqual(undocumented('src/index.ts', read), ['b (src/x.ts)', 'T (src/t.ts)', 'V (src/w.ts)', 'ns (src/index.ts)']);
    files['src/x.ts'] = '/** A. */\nexport function a(): void {}\n/** B. */\nexport const b = 1;\n';
    files['src/t.ts'] = '/**\n * T.\n */\nexport interface T {}\n';
    files['src/w.ts'] = '/** W. */\nexport type W = 1;\n/** V. */\nexport type V = 2;\n';
    files['src/index.ts'] = (files['src/index.ts'] as string).replace('export * as ns', '/** The namespace. */\nexport * as ns');
    assert.deepEqual(undocumented('src/index.ts', read), []);
  });

  test('npm run docs builds the reference with no warning', (t) => {
    // TypeDoc is installed into docs/ by the first npm run docs (it needs the registry once).
    if (!existsSync(`${ROOT}docs/node_modules/typedoc/package.json`) && process.env.CI !== 'true') {
      t.skip('docs/ has no TypeDoc yet: run npm run docs once');
      return;
    }
    const r = spawnSync('npm', ['run', 'docs', '--silent'], { cwd: ROOT, encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.doesNotMatch(out, /warning/i, out);
    assert.ok(existsSync(`${ROOT}docs/api/index.html`));
  });
});
