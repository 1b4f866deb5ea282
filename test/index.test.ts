// What `import 'bpfmap'` costs a user: the library without the exporter's YAML parser, HTTP server
// or the CLI's modules, which `bpfmap/export` and the CLI load for themselves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
