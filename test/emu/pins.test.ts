import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap } from '../../src/map/map.js';
import { BPF_F_RDONLY } from '../../src/sys/constants.js';
import { emuStoreDir, u32 } from '../helpers/kernel.js';

const INDEX = JSON.stringify(new URL('../../src/index.js', import.meta.url).href);

/** Runs an ES module snippet in a separate node process on the emulated kernel with store dir. */
function child(dir: string, body: string): string {
  const script = `import { BpfMap, listMaps } from ${INDEX};\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const isErr = (code: string) => (e: unknown) => e instanceof BpfError && e.code === code;

test('pins: another process opens, reads and writes a pinned emulated map, and this one sees its writes', () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  using m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8, name: 'shared' });
  m.set(u32(1), u32(10));
  m.pin('/sys/fs/bpf/shared');
  const out = child(dir, `
    const m = BpfMap.openPinned('/sys/fs/bpf/shared');
    const seen = m.get(Buffer.from([1, 0, 0, 0])).readUInt32LE(0);
    m.set(Buffer.from([2, 0, 0, 0]), Buffer.from([20, 0, 0, 0]));
    console.log(seen, listMaps().map((i) => i.name).join(','));
  `);
  assert.equal(out, '10 shared');
  assert.deepEqual(m.get(u32(2)), u32(20), 'the other process wrote through the pin');
  m.delete(u32(1));
  assert.equal(child(dir, `console.log(BpfMap.openPinned('/sys/fs/bpf/shared').has(Buffer.from([1, 0, 0, 0])))`), 'false');
  // Hash order survives the round trip through the store (same seed, same buckets, same lists).
  for (let i = 3; i < 8; i++) m.set(u32(i * 77), u32(i));
  const order = [...m.keys()].map((k) => k.toString('hex')).join(' ');
  assert.equal(child(dir, `console.log([...BpfMap.openPinned('/sys/fs/bpf/shared').keys()].map((k) => k.toString('hex')).join(' '))`), order);
});

test('pins: an LRU map comes back with its bucket order and its recency order', () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  using m = BpfMap.create({ kernel, type: 'lru_percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4, flags: ['zero_seed'] });
  const v = Array.from({ length: m.cpus }, () => Buffer.alloc(8));
  for (const k of [1, 2, 3, 4]) m.set(u32(k), v);
  m.set(u32(1), v); // in place: 1 keeps its place in its bucket but becomes the most recent
  m.pin('/sys/fs/bpf/lru');
  const order = [...m.keys()].map((k) => k.readUInt32LE(0)).join(',');
  const out = child(dir, `
    const m = BpfMap.openPinned('/sys/fs/bpf/lru');
    const keys = () => [...m.keys()].map((k) => k.readUInt32LE(0));
    const before = keys().join(',');
    m.set(Buffer.from([9, 0, 0, 0]), Array.from({ length: m.cpus }, () => Buffer.alloc(8)));
    console.log(before + ' ' + keys().sort((a, b) => a - b).join(','));
  `);
  assert.equal(out, `${order} 1,3,4,9`, 'same walk order; 2 was the least recently used');
});

test('pins: the kernel\'s errors (EEXIST, ENOENT, EACCES, EPERM off bpffs), read-only opens, frozen state, unpin', () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  const fd = kernel.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
  kernel.pin(fd, '/sys/fs/bpf/a');
  kernel.pin(fd, '/sys/fs/bpf/b');
  assert.throws(() => kernel.pin(fd, '/sys/fs/bpf/a'), isErr('EEXIST'));
  assert.throws(() => kernel.pin(fd, '/tmp/elsewhere'), isErr('EPERM'));
  assert.throws(() => kernel.objGet('/sys/fs/bpf/none', 0), isErr('ENOENT'));
  assert.throws(() => kernel.objGet('/sys/fs/bpf', 0), isErr('EACCES'));
  assert.throws(() => kernel.objGet('/sys/fs/bpf/a', BPF_F_RDONLY | 16), isErr('EINVAL'));
  const ro = kernel.objGet('/sys/fs/bpf/b', BPF_F_RDONLY);
  assert.throws(() => kernel.update(ro, u32(0), u32(1), 0), isErr('EPERM'));
  kernel.update(fd, u32(0), u32(5), 0);
  const v = Buffer.alloc(4);
  assert.ok(kernel.lookup(ro, u32(0), v, 0));
  assert.deepEqual(v, u32(5), 'both pins name one map');
  kernel.freeze(fd);
  assert.equal(child(dir, `try { BpfMap.openPinned('/sys/fs/bpf/a').set(Buffer.alloc(4), Buffer.alloc(4)); } catch (e) { console.log(e.code); }`), 'EPERM');
  assert.equal(kernel.unpin('/sys/fs/bpf/a'), true);
  assert.equal(kernel.unpin('/sys/fs/bpf/a'), false);
  assert.throws(() => kernel.objGet('/sys/fs/bpf/a', 0), isErr('ENOENT'));
  assert.equal(readdirSync(join(dir, 'maps')).length, 1, 'the map stays while /sys/fs/bpf/b names it');
  kernel.unpin('/sys/fs/bpf/b');
  assert.equal(readdirSync(join(dir, 'maps')).length, 0, 'the last unpin removes the stored map');
});

test('pins: a writer killed mid-way never leaves a broken or partial map behind', async () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  const fd = kernel.mapCreate({ mapType: 1, keySize: 4, valueSize: 64, maxEntries: 100000, mapFlags: 0 });
  kernel.pin(fd, '/sys/fs/bpf/crash');
  kernel.close(fd);
  // The writer adds keys 0, 1, 2, ... one update (one atomic store write) each, until killed.
  const script = `import { BpfMap } from ${INDEX};
    const m = BpfMap.openPinned('/sys/fs/bpf/crash');
    const v = Buffer.alloc(64, 7);
    for (let i = 0; ; i++) { const k = Buffer.alloc(4); k.writeUInt32LE(i); m.set(k, v); if (i === 50) console.log('going'); }`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir } });
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', () => setTimeout(() => { p.kill('SIGKILL'); resolve(); }, 150));
    p.on('exit', (code) => code !== null && reject(new Error(`writer exited early: ${code}`)));
  });
  await new Promise((r) => p.once('exit', r));
  for (const f of readdirSync(join(dir, 'maps'))) {
    if (f.endsWith('.json')) JSON.parse(readFileSync(join(dir, 'maps', f), 'utf8'));
  }
  const reader = new EmulatedKernel({ dir });
  const rfd = reader.objGet('/sys/fs/bpf/crash', 0);
  const keys: number[] = [];
  const next = Buffer.alloc(4);
  let key: Buffer | null = null;
  while (reader.nextKey(rfd, key, next)) {
    keys.push(next.readUInt32LE(0));
    key = Buffer.from(next);
  }
  keys.sort((a, b) => a - b);
  assert.ok(keys.length > 50, `the writer got going (${keys.length} keys)`);
  assert.deepEqual(keys, keys.map((_, i) => i), 'a prefix of the writes, none torn');
  // The writer may have died holding the map's lock: the next writer breaks it (its holder is gone).
  reader.update(rfd, u32(1 << 20), Buffer.alloc(64), 0);
  assert.equal(child(dir, `console.log(BpfMap.openPinned('/sys/fs/bpf/crash').has(Buffer.from([0, 0, 16, 0])))`), 'true');
});
