import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BPFFS, bpffsFiles, bpffsMounts, onBpffs, pinPathProblem } from '../../src/kernel/bpffs.js';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap } from '../../src/map/map.js';
import { LINUX, linuxAvailable, pinPath } from '../helpers/kernel.js';

test('pinPathProblem: a directory off any bpf filesystem, or missing, is named with the fix', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-bpffs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(onBpffs(dir), false);
  assert.equal(onBpffs(join(dir, 'none')), null);
  assert.equal(
    pinPathProblem(join(dir, 'x')),
    `${dir} is not on a bpf filesystem: pins live on one, such as /sys/fs/bpf, which \`mount -t bpf bpf /sys/fs/bpf\` mounts if none is there`,
  );
  assert.equal(
    pinPathProblem(join(dir, 'none', 'x')),
    `the directory ${join(dir, 'none')} does not exist: create it on a bpf filesystem first, mkdir -p ${join(dir, 'none')}`,
  );
});

test('on the real kernel, a pin or an open outside a bpf filesystem says where it went wrong, not that privileges lack', (t) => {
  if (!linuxAvailable(t)) return;
  assert.equal(onBpffs(BPFFS), true, 'npm test mounts a bpf filesystem at /sys/fs/bpf');
  const dir = mkdtempSync(join(tmpdir(), 'bpfmap-bpffs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = pinPath('bpffs');
  assert.equal(pinPathProblem(path), undefined, 'a pin right under /sys/fs/bpf is fine');
  using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
  const fails = (f: () => void, command: string, code: string, hint: RegExp): void =>
    assert.throws(
      f,
      (e: unknown) =>
        e instanceof BpfError && e.command === command && e.code === code && hint.test(e.hint ?? '') && !/CAP_BPF/.test(e.message),
    );
  fails(() => map.pin(join(dir, 'x')), 'BPF_OBJ_PIN', 'EPERM', /is not on a bpf filesystem/);
  fails(() => map.pin(`${path}/x`), 'BPF_OBJ_PIN', 'ENOENT', new RegExp(`the directory ${path} does not exist`));
  fails(
    () => BpfMap.openPinned(`${path}/x`, { kernel: LINUX.kernel() }),
    'BPF_OBJ_GET',
    'ENOENT',
    new RegExp(`the directory ${path} does not exist`),
  );
  fails(() => BpfMap.openPinned(join(dir, 'x'), { kernel: LINUX.kernel() }), 'BPF_OBJ_GET', 'ENOENT', /is not on a bpf filesystem/);
  fails(() => BpfMap.openPinned(path, { kernel: LINUX.kernel() }), 'BPF_OBJ_GET', 'ENOENT', /^nothing is pinned at that path$/);
});

test('bpffsMounts reads the bpf filesystems of a mountinfo text, escapes and all', () => {
  const text = [
    '24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
    '33 24 0:28 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:12 - bpf bpf rw,mode=700',
    '90 33 0:44 / /run/my\\040pins rw,relatime - bpf none rw',
    '91 33 0:45 / /mnt/x rw,relatime shared:13 master:2 - bpf bpf rw',
    '92 33 0:46 / /mnt/notbpf rw,relatime - tmpfs bpf rw',
  ].join('\n');
  assert.deepEqual(bpffsMounts(text), ['/sys/fs/bpf', '/run/my pins', '/mnt/x']);
});

test('bpffsFiles walks the mounted bpf filesystems, bounded, and finds a pin in a directory', (t) => {
  if (!linuxAvailable(t)) return;
  const dir = pinPath('bpffs-walk');
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  using map = BpfMap.create({ kernel: LINUX.kernel(), type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
  map.pin(join(dir, 'deep'));
  assert.ok(bpffsFiles().includes(join(dir, 'deep')));
  assert.equal(bpffsFiles(1).length, 1, 'the limit bounds the walk');
});
