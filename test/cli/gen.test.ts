import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { BpfMap } from '../../src/map/map.js';
import { runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap gen', () => {
  test('writes the module of a map by id to stdout, of a pinned map to a file', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({
      kernel: LINUX.kernel(),
      type: 'hash',
      key: flowKey,
      value: flowStats,
      maxEntries: 4,
      name: 'gen_flows',
      btf: true,
    });
    const byId = await runMain(['gen', 'id', String(map.id)]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, /^import \{ type Codec, codecFromBtf, parseBtf \} from "bpfmap";$/m);
    assert.match(byId.stdout, /^export const gen_flows = \{ key: codec<Flow>\(\d+\), value: codec<FlowStats>\(\d+\) \};$/m);
    const path = pinPath('cli-gen');
    map.pin(path);
    const dir = mkdtempSync(join(tmpdir(), 'bpfmap-cli-gen-'));
    try {
      const out = join(dir, 'maps.ts');
      const r = await runMain(['gen', 'pinned', path, '-o', out, '--import-from', '../lib/index.js']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(
        readFileSync(out, 'utf8'),
        /from "\.\.\/lib\/index\.js";\n[\s\S]*^export const bpfmap_test_cli_gen_\w+ = \{ key: codec<Flow>/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      map.unpin(path);
    }
    const missing = await runMain(['gen', 'pinned', path, '-o', join(dir, 'x.ts')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT/);
    assert.equal(existsSync(join(dir, 'x.ts')), false);
  });
});
