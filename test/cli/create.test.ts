import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runMain, unpin } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap create', () => {
  test('creates and pins a map of the given shape', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-create');
    try {
      const r = await runMain(['create', path, '--type', 'hash', '--key-size', '8', '--value-size', '24', '--max-entries', '500', '--name', 'cli_made', '--flags', 'no_prealloc,zero_seed']);
      assert.equal(r.code, 0, r.stderr);
      using map = BpfMap.openPinned(path, { kernel: LINUX.kernel() });
      assert.match(r.stdout, new RegExp(`created hash map id ${map.id} "cli_made", pinned at ${path}`));
      assert.deepEqual([map.typeName, map.keySize, map.valueSize, map.maxEntries, map.name], ['hash', 8, 24, 500, 'cli_made']);
      assert.deepEqual(map.info().flagNames.sort(), ['no_prealloc', 'zero_seed']);
      const again = await runMain(['create', path, '--type', 'hash', '--key-size', '8', '--value-size', '24', '--max-entries', '500']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /^bpfmap create: BPF_OBJ_PIN .*failed: EEXIST \(something is already pinned at that path\)\n$/);
    } finally {
      unpin(path);
    }
  });

  test('bad types, flags and names are usage errors; attributes the kernel refuses are runtime errors', async (t) => {
    if (!linuxAvailable(t)) return;
    const path = pinPath('cli-create-bad');
    const base = [path, '--key-size', '4', '--value-size', '4', '--max-entries', '4'];
    const [type, flag, name, refused] = await Promise.all([
      runMain(['create', ...base, '--type', 'hashy']),
      runMain(['create', ...base, '--type', 'hash', '--flags', 'fast']),
      runMain(['create', ...base, '--type', 'hash', '--name', 'has space']),
      runMain(['create', path, '--type', 'array', '--key-size', '8', '--value-size', '4', '--max-entries', '4']),
    ]);
    assert.equal(type.code, 2);
    assert.match(type.stderr, /unknown map type "hashy" \(known: .*hash/);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown map flag "fast"/);
    assert.equal(name.code, 2);
    assert.match(name.stderr, /--name may hold only letters, digits, "_" and "." \(\[A-Za-z0-9_.\]\), got "has space"/);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /BPF_MAP_CREATE failed: EINVAL \(the kernel rejected the map attributes/);
  });
});
