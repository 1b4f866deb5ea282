import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BpfMap } from '../../src/map/map.js';
import { runMain, unpin } from '../helpers/cli.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

describe('bpfmap pin', () => {
  test('pins the selected map; a path off the bpf filesystem is an error with a hint', async (t) => {
    if (!linuxAvailable(t)) return;
    using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    const path = pinPath('cli-pin');
    try {
      const r = await runMain(['pin', 'id', String(map.id), path]);
      assert.equal(r.code, 0, r.stderr);
      using pinned = BpfMap.openPinned(path, { kernel: LINUX.kernel() });
      assert.equal(pinned.id, map.id);
      const [off, nodir] = await Promise.all([runMain(['pin', 'id', String(map.id), '/tmp/not-bpffs-pin']), runMain(['pin', 'id', String(map.id), `${path}-nodir/x`])]);
      assert.equal(off.code, 1);
      // Not the privileges hint: root was refused because /tmp is no bpf filesystem.
      assert.match(off.stderr, /^bpfmap pin: BPF_OBJ_PIN on map \/tmp\/not-bpffs-pin failed: EPERM \(\/tmp is not on a bpf filesystem: pins live on one, such as \/sys\/fs\/bpf, which `mount -t bpf bpf \/sys\/fs\/bpf` mounts if none is there\)\n$/);
      assert.equal(nodir.code, 1);
      assert.match(nodir.stderr, new RegExp(`failed: ENOENT \\(the directory ${path}-nodir does not exist: create it on a bpf filesystem first, mkdir -p ${path}-nodir\\)\n$`));
    } finally {
      unpin(path);
    }
  });
});
