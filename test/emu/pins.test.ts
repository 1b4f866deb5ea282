import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import { BpfMap, listMaps } from '../../src/map/map.js';
import { BPF_F_RDONLY } from '../../src/sys/constants.js';
import { emuStoreDir, u32, u64 } from '../helpers/kernel.js';

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

/** Runs module snippets in separate node processes at once, on the emulated kernel with store dir. */
function children(dir: string, bodies: string[]): Promise<string[]> {
  return Promise.all(bodies.map((body) => new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', `import { BpfMap } from ${INDEX};\n${body}`], {
      env: { ...process.env, BPFMAP_KERNEL: 'emulated', BPFMAP_EMU_DIR: dir },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${err}`))));
  })));
}

test('pins: 4 processes setting 300 different keys each into one pinned map: all 1,200 keys survive', async () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  using m = BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2048 });
  m.pin('/sys/fs/bpf/shared-writes');
  await children(dir, [0, 1, 2, 3].map((w) => `
    const m = BpfMap.openPinned('/sys/fs/bpf/shared-writes');
    const k = Buffer.alloc(4);
    for (let i = 0; i < 300; i++) { k.writeUInt32LE(${w} * 1000 + i); m.set(k, k); }
  `));
  const got = [...m.keys()].map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
  const want = [0, 1, 2, 3].flatMap((w) => Array.from({ length: 300 }, (_, i) => w * 1000 + i));
  assert.equal(got.length, 1200);
  assert.deepEqual(got, want);
  assert.deepEqual(m.get(u32(3299 - 1000)), u32(2299), 'values too');
  assert.deepEqual(readdirSync(join(dir, 'maps')).filter((f) => !f.endsWith('.json')), [], 'no lock or temporary file left');
});

test('pins: a plain map pinned with one CPU count opens, reads and writes the same with another', () => {
  const dir = emuStoreDir();
  const two = new EmulatedKernel({ dir, cpus: 2 });
  using arr = BpfMap.create({ kernel: two, type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 });
  arr.set(u32(1), u32(7));
  arr.pin('/sys/fs/bpf/cpus-array');
  for (const cpus of [1, 3, 4]) {
    using a = BpfMap.openPinned('/sys/fs/bpf/cpus-array', { kernel: new EmulatedKernel({ dir, cpus }), raw: true });
    assert.deepEqual(a.get(u32(1)), u32(7), `array on ${cpus} CPUs`);
    assert.deepEqual(a.lookupBatch({ count: 4 }).values.slice(0, 2), [u32(0), u32(7)]);
    a.set(u32(2), u32(cpus));
    assert.deepEqual(arr.get(u32(2)), u32(cpus), 'its write reaches the 2-CPU process');
  }
});

test('pins: a per-CPU map pinned with one CPU count opens with another: CPU slots cut or zero-extended', () => {
  const dir = emuStoreDir();
  const two = new EmulatedKernel({ dir, cpus: 2 });
  // value_size 8: with one CPU a per-CPU value is as long as a plain one.
  using pc = BpfMap.create({ kernel: two, type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
  pc.set(u32(1), [u64(11), u64(12)]);
  pc.set(u32(2), [u64(21), u64(22)]);
  pc.pin('/sys/fs/bpf/cpus-percpu');
  for (const cpus of [1, 3, 4]) {
    using p = BpfMap.openPinned('/sys/fs/bpf/cpus-percpu', { kernel: new EmulatedKernel({ dir, cpus }), raw: true });
    const slots = (a: bigint, b: bigint) => [u64(a), u64(b), u64(0), u64(0)].slice(0, cpus);
    assert.deepEqual(p.get(u32(1)), slots(11n, 12n), `per-CPU on ${cpus} CPUs`);
    const batch = p.lookupBatch({ count: 4 });
    const byKey = new Map(batch.keys.map((key, i) => [key.readUInt32LE(0), batch.values[i]]));
    assert.deepEqual(byKey.get(1), slots(11n, 12n), 'batch values do not spill into the next entry');
    assert.deepEqual(byKey.get(2), slots(21n, 22n));
  }
  // Writes cross over both ways, also into a map already loaded.
  using p4 = BpfMap.openPinned('/sys/fs/bpf/cpus-percpu', { kernel: new EmulatedKernel({ dir, cpus: 4 }), raw: true });
  p4.set(u32(3), [u64(31), u64(32), u64(33), u64(34)]);
  assert.deepEqual(pc.get(u32(3)), [u64(31), u64(32)]);
  pc.set(u32(1), [u64(1), u64(2)]);
  assert.deepEqual(p4.get(u32(1)), [u64(1), u64(2), u64(0), u64(0)]);
});

test('pins: a pin that fails (EEXIST) leaves no stored object behind', () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  const fd = kernel.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
  kernel.pin(fd, '/sys/fs/bpf/taken');
  for (let i = 0; i < 199; i++) {
    const other = kernel.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
    assert.throws(() => kernel.pin(other, '/sys/fs/bpf/taken'), isErr('EEXIST'));
    kernel.close(other);
  }
  assert.equal(readdirSync(join(dir, 'maps')).length, 1);
  assert.equal(readdirSync(join(dir, 'pins')).length, 1);
});

/** The one stored map object of a store, its file and its parsed contents. */
function storedObject(dir: string): { file: string; data: Record<string, unknown> } {
  const [name] = readdirSync(join(dir, 'maps')).filter((f) => f.endsWith('.json'));
  assert.ok(name);
  const file = join(dir, 'maps', name);
  return { file, data: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> };
}

test('pins: a stored map that is broken is an error naming its file, never "nothing pinned" or a crash', () => {
  const corruptions: Record<string, (text: string, data: Record<string, unknown>) => string> = {
    'cut short': (text) => text.slice(0, text.length / 2),
    'not an object': () => '[]',
    'unknown format': (_, d) => JSON.stringify({ ...d, version: 9 }),
    'no format': (_, d) => JSON.stringify({ ...d, version: undefined }),
    'a key of the wrong length': (_, d) => JSON.stringify({ ...d, entries: [['0100', '05000000']] }),
    'a value of the wrong length': (_, d) => JSON.stringify({ ...d, entries: [['01000000', '05']] }),
    'not hex': (_, d) => JSON.stringify({ ...d, entries: [['0100000g', '05000000']] }),
    'more entries than max_entries': (_, d) => JSON.stringify({ ...d, entries: [1, 2, 3].map((i) => [`0${i}000000`, '05000000']) }),
    'a key twice': (_, d) => JSON.stringify({ ...d, entries: [['01000000', '05000000'], ['01000000', '06000000']] }),
    'entries of the wrong type': (_, d) => JSON.stringify({ ...d, entries: {} }),
    'an entry of the wrong type': (_, d) => JSON.stringify({ ...d, entries: [5] }),
    'attributes of the wrong type': (_, d) => JSON.stringify({ ...d, attr: { ...(d.attr as object), keySize: '4' } }),
    'attributes MAP_CREATE refuses': (_, d) => JSON.stringify({ ...d, attr: { ...(d.attr as object), flags: 1 << 30 } }),
    'an unknown map type': (_, d) => JSON.stringify({ ...d, attr: { ...(d.attr as object), type: 999 } }),
    'a rank on a plain hash': (_, d) => JSON.stringify({ ...d, entries: [['01000000', '05000000', 0]] }),
  };
  for (const [what, corrupt] of Object.entries(corruptions)) {
    const dir = emuStoreDir();
    const kernel = new EmulatedKernel({ dir });
    const fd = kernel.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
    kernel.update(fd, u32(1), u32(5), 0);
    kernel.pin(fd, '/sys/fs/bpf/broken');
    const { file, data } = storedObject(dir);
    writeFileSync(file, corrupt(readFileSync(file, 'utf8'), data));
    const fresh = new EmulatedKernel({ dir });
    const named = (e: unknown) => e instanceof BpfError && e.code === 'EIO' && e.message.includes(file);
    assert.throws(() => fresh.objGet('/sys/fs/bpf/broken', 0), named, `open: ${what}`);
    assert.throws(() => listMaps(fresh), named, `listMaps: ${what}`);
    // The process that has it loaded sees the breakage at its next command, too.
    assert.throws(() => kernel.lookup(fd, u32(1), Buffer.alloc(4), 0), named, `loaded: ${what}`);
    // Unpinning clears it away.
    assert.equal(fresh.unpin('/sys/fs/bpf/broken'), true);
    assert.deepEqual(readdirSync(join(dir, 'maps')).filter((f) => f.endsWith('.json')), []);
  }
});

test('pins: a broken pin file is an error naming it, and unpin removes it', () => {
  const dir = emuStoreDir();
  const kernel = new EmulatedKernel({ dir });
  const fd = kernel.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2, mapFlags: 0 });
  kernel.pin(fd, '/sys/fs/bpf/badpin');
  const [name] = readdirSync(join(dir, 'pins'));
  const file = join(dir, 'pins', name as string);
  writeFileSync(file, '{"path": 3');
  const named = (e: unknown) => e instanceof BpfError && e.code === 'EIO' && e.message.includes(file);
  assert.throws(() => kernel.objGet('/sys/fs/bpf/badpin', 0), named);
  assert.throws(() => kernel.pin(fd, '/sys/fs/bpf/badpin'), named);
  assert.throws(() => listMaps(new EmulatedKernel({ dir })), named);
  assert.equal(kernel.unpin('/sys/fs/bpf/badpin'), true);
  assert.deepEqual(readdirSync(join(dir, 'pins')), []);
  assert.throws(() => kernel.objGet('/sys/fs/bpf/badpin', 0), isErr('ENOENT'));
});
