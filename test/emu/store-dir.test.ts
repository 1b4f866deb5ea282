import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test, type TestContext } from 'node:test';
import { defaultEmuDir, StoreDir } from '../../src/emu/store-dir.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { BpfError } from '../../src/kernel/error.js';
import { BPF_MAP_TYPE_ARRAY } from '../../src/sys/constants.js';
import { tool } from '../helpers/cli.js';

const INDEX = JSON.stringify(new URL('../../src/index.js', import.meta.url).href);

/** A fresh directory for one test, removed when the process exits. */
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'bpfmap-store-test-'));
  process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
}

function pinOne(dir: string, path = '/sys/fs/bpf/one'): EmulatedKernel {
  const k = new EmulatedKernel({ dir });
  const fd = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  k.pin(fd, path);
  return k;
}

const refused = (dir: string, why: RegExp) => (e: unknown) =>
  e instanceof BpfError && e.code === 'EACCES' && e.message.includes(dir) && why.test(e.message) && /BPFMAP_EMU_DIR/.test(e.message);

test('store dir: created 0700 whatever the umask, then used', () => {
  const dir = join(scratch(), 'store');
  const old = process.umask(0);
  try {
    pinOne(dir);
  } finally {
    process.umask(old);
  }
  assert.equal(lstatSync(dir).mode & 0o7777, 0o700);
  for (const sub of readdirSync(dir)) assert.equal(lstatSync(join(dir, sub)).mode & 0o077, 0, `${sub} is private`);
  assert.ok(new EmulatedKernel({ dir }).objGet('/sys/fs/bpf/one', 0) > 0);
});

test('store dir: one writable by others, a symbolic link or a file is refused, naming it and the way out', () => {
  const base = scratch();
  const open = join(base, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.throws(() => pinOne(open), refused(open, /written by its group and other users \(mode 0777\)/));
  chmodSync(open, 0o770);
  assert.throws(() => pinOne(open), refused(open, /its group/));
  const link = join(base, 'link');
  mkdirSync(join(base, 'target'), { mode: 0o700 });
  symlinkSync(join(base, 'target'), link);
  assert.throws(() => pinOne(link), refused(link, /symbolic link/));
  assert.deepEqual(readdirSync(join(base, 'target')), [], 'nothing written through the link');
  const file = join(base, 'file');
  writeFileSync(file, '');
  assert.throws(() => pinOne(file), refused(file, /not a directory/));
  // Reading (open, listMaps) refuses it too: planted pins are never taken in.
  assert.throws(() => new EmulatedKernel({ dir: open }).objGet('/sys/fs/bpf/one', 0), refused(open, /group/));
});

test('store dir: one that cannot be created is a BpfError naming it and the way out, not a raw file system error', () => {
  const dir = '/proc/self/bpfmap-store';
  assert.throws(() => pinOne(dir), (e: unknown) => e instanceof BpfError && e.command === 'BPF_OBJ_PIN' && e.message.includes(dir) && /BPFMAP_EMU_DIR/.test(e.message));
});

test('store dir: symbolic links inside the store are never followed', () => {
  const dir = join(scratch(), 'store');
  pinOne(dir, '/sys/fs/bpf/in');
  const elsewhere = scratch();
  // A pin file replaced by a link: refused (ELOOP), not read through.
  const [pin] = readdirSync(join(dir, 'pins'));
  rmSync(join(dir, 'pins', pin as string));
  writeFileSync(join(elsewhere, 'planted.json'), '{}');
  symlinkSync(join(elsewhere, 'planted.json'), join(dir, 'pins', pin as string));
  assert.throws(() => new EmulatedKernel({ dir }).objGet('/sys/fs/bpf/in', 0), (e: unknown) => e instanceof BpfError && e.code === 'ELOOP' && e.message.includes(pin as string));
  // A subdirectory replaced by a link: refused, nothing written through it.
  rmSync(join(dir, 'maps'), { recursive: true });
  symlinkSync(elsewhere, join(dir, 'maps'));
  const fresh = new EmulatedKernel({ dir });
  const fd = fresh.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0 });
  assert.throws(() => fresh.pin(fd, '/sys/fs/bpf/other'), (e: unknown) => e instanceof BpfError && /symbolic link/.test(e.message));
  assert.deepEqual(readdirSync(elsewhere), ['planted.json']);
});

test('store dir: XDG_RUNTIME_DIR when it is the user\'s own, else the temp directory', () => {
  const saved = { emu: process.env.BPFMAP_EMU_DIR, xdg: process.env.XDG_RUNTIME_DIR };
  try {
    delete process.env.BPFMAP_EMU_DIR;
    const runtime = scratch();
    process.env.XDG_RUNTIME_DIR = runtime;
    assert.equal(defaultEmuDir(), join(runtime, 'bpfmap-emu'));
    chmodSync(runtime, 0o777);
    assert.equal(defaultEmuDir(), join(tmpdir(), `bpfmap-emu-${process.getuid?.() ?? ''}`));
    process.env.XDG_RUNTIME_DIR = 'relative/dir';
    assert.equal(defaultEmuDir(), join(tmpdir(), `bpfmap-emu-${process.getuid?.() ?? ''}`));
    process.env.BPFMAP_EMU_DIR = '/some/where';
    assert.equal(defaultEmuDir(), '/some/where');
  } finally {
    for (const [k, v] of [['BPFMAP_EMU_DIR', saved.emu], ['XDG_RUNTIME_DIR', saved.xdg]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

let forOthers: string | undefined;

/**
 * The library's entry point where any user can read it: a copy of the build in a world-readable
 * temp directory (the checkout may sit in a directory only root can enter).
 */
function indexForOthers(): string {
  if (forOthers) return forOthers;
  const root = new URL('../../../', import.meta.url).pathname;
  const copy = scratch();
  chmodSync(copy, 0o755);
  cpSync(join(root, 'dist/src'), join(copy, 'dist/src'), { recursive: true });
  cpSync(join(root, 'build/Release/bpfmap_native.node'), join(copy, 'build/Release/bpfmap_native.node'));
  cpSync(join(root, 'package.json'), join(copy, 'package.json'));
  // The runtime dependencies, without the compiler.
  cpSync(join(root, 'node_modules'), join(copy, 'node_modules'), { recursive: true, filter: (src) => !/node_modules\/(typescript|@typescript|@types)(\/|$)/.test(src) });
  forOthers = JSON.stringify(pathToFileURL(join(copy, 'dist/src/index.js')).href);
  return forOthers;
}

/** Runs a module snippet as uid (and gid) through setpriv, with the emulated kernel and a clean environment. */
function asUser(setpriv: string, uid: number, env: Record<string, string>, body: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(setpriv, [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', process.execPath, '--input-type=module', '-e',
    `import { BpfMap } from ${indexForOthers()};\n${body}`], {
    encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', BPFMAP_KERNEL: 'emulated', ...env },
  });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}

/** A directory like /tmp (sticky, writable by all) for users to race in. */
function sharedTmp(): string {
  const d = scratch();
  chmodSync(d, 0o1777);
  return d;
}

const ATTACKER = 65534;
const VICTIM = 65533;

function setprivOrSkip(t: TestContext): string | null {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') throw new Error('CI runs as root: this test needs root to switch uids');
    t.skip('switching uids needs root');
    return null;
  }
  return tool(t, 'setpriv');
}

test('store dir, two users: a store another user created first is refused, not read or written', (t) => {
  const setpriv = setprivOrSkip(t);
  if (!setpriv) return;
  const shared = sharedTmp();
  const victimDir = join(shared, `bpfmap-emu-${VICTIM}`);
  // The attacker pre-creates the victim's default store, plants a pinned map, and opens it to all.
  const planted = asUser(setpriv, ATTACKER, { BPFMAP_EMU_DIR: victimDir }, `
    import { chmodSync, readdirSync, statSync } from 'node:fs';
    const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    m.set(Buffer.alloc(4), Buffer.from([0x9a, 2, 0, 0]));
    m.pin('/sys/fs/bpf/victim-data');
    const open = (d) => { chmodSync(d, 0o777); for (const f of readdirSync(d)) statSync(d + '/' + f).isDirectory() ? open(d + '/' + f) : chmodSync(d + '/' + f, 0o666); };
    open(${JSON.stringify(victimDir)});
  `);
  assert.equal(planted.status, 0, planted.err);
  const read = asUser(setpriv, VICTIM, { TMPDIR: shared }, `
    try { console.log('READ', BpfMap.openPinned('/sys/fs/bpf/victim-data').get(Buffer.alloc(4)).readUInt32LE(0)); }
    catch (e) { console.log(e.message); }
  `);
  assert.equal(read.status, 0, read.err);
  assert.doesNotMatch(read.out, /READ/, 'the planted map was read as the victim\'s own');
  assert.ok(read.out.includes(victimDir) && read.out.includes(`owned by uid ${ATTACKER}, not by you (uid ${VICTIM})`), read.out);

  // A symbolic link planted in its place: refused, and nothing is written where it points.
  const shared2 = sharedTmp();
  const trap = join(shared2, 'trap');
  const linked = asUser(setpriv, ATTACKER, {}, `
    import { mkdirSync, chmodSync, symlinkSync } from 'node:fs';
    mkdirSync(${JSON.stringify(trap)}); chmodSync(${JSON.stringify(trap)}, 0o777);
    symlinkSync(${JSON.stringify(trap)}, ${JSON.stringify(join(shared2, `bpfmap-emu-${VICTIM}`))});
  `);
  assert.equal(linked.status, 0, linked.err);
  const wrote = asUser(setpriv, VICTIM, { TMPDIR: shared2 }, `
    try { BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }).pin('/sys/fs/bpf/secret'); console.log('PINNED'); }
    catch (e) { console.log(e.message); }
  `);
  assert.equal(wrote.status, 0, wrote.err);
  assert.match(wrote.out, /symbolic link/);
  assert.deepEqual(readdirSync(trap), [], 'nothing written into the attacker\'s directory');

  // Root is no exception: its default store, pre-created by another user, is refused too.
  const shared3 = sharedTmp();
  const rootDir = join(shared3, 'bpfmap-emu-0');
  assert.equal(asUser(setpriv, ATTACKER, {}, `import { mkdirSync } from 'node:fs'; mkdirSync(${JSON.stringify(rootDir)}, { mode: 0o700 });`).status, 0);
  const asRoot = spawnSync(process.execPath, ['--input-type=module', '-e', `import { BpfMap } from ${INDEX};
    try { BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }).pin('/sys/fs/bpf/x'); console.log('PINNED'); }
    catch (e) { console.log(e.message); }`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', BPFMAP_KERNEL: 'emulated', TMPDIR: shared3 } });
  assert.ok(asRoot.stdout.includes(`${rootDir} is owned by uid ${ATTACKER}, not by you (uid 0)`), asRoot.stdout + asRoot.stderr);
});

test('store dir, another user: an unprivileged user with no home gets a private store of its own, and pins work', (t) => {
  const setpriv = setprivOrSkip(t);
  if (!setpriv) return;
  const shared = sharedTmp();
  const env = { TMPDIR: shared, HOME: '/nonexistent' };
  const pinned = asUser(setpriv, VICTIM, env, `
    const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    m.set(Buffer.alloc(4), Buffer.from([7, 0, 0, 0]));
    m.pin('/sys/fs/bpf/mine');
  `);
  assert.equal(pinned.status, 0, pinned.err);
  const got = asUser(setpriv, VICTIM, env, `console.log(BpfMap.openPinned('/sys/fs/bpf/mine').get(Buffer.alloc(4)).readUInt32LE(0));`);
  assert.equal(got.out, '7', got.err);
  const st = lstatSync(join(shared, `bpfmap-emu-${VICTIM}`));
  assert.equal(st.uid, VICTIM);
  assert.equal(st.mode & 0o7777, 0o700);
  // The attacker can neither read it nor use it as its own.
  const peek = asUser(setpriv, ATTACKER, { BPFMAP_EMU_DIR: join(shared, `bpfmap-emu-${VICTIM}`) },
    `try { BpfMap.openPinned('/sys/fs/bpf/mine'); console.log('OPENED'); } catch (e) { console.log(e.code); }`);
  assert.equal(peek.out, 'EACCES', peek.err);
});

test('store lock: a lock whose holder is gone (or that names no holder) is broken; a live holder is waited for', async () => {
  const dir = join(scratch(), 'store');
  const store = new StoreDir(dir);
  const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
  for (const stale of [`${dead} 0011223344556677\n`, 'garbage']) {
    assert.ok(store.create('maps', 'm.lock', stale));
    let held = '';
    store.withLock('maps', 'm', () => (held = store.read('maps', 'm.lock')?.text ?? ''));
    assert.match(held, new RegExp(`^${process.pid} `), 'held by this process');
    assert.deepEqual(readdirSync(join(dir, 'maps')), [], 'released');
  }
  // A live holder: another process holds the lock a while, then leaves a mark as it lets go.
  const mark = join(dir, 'mark');
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    import { writeFileSync } from 'node:fs';
    import { StoreDir } from ${JSON.stringify(new URL('../../src/emu/store-dir.js', import.meta.url).href)};
    new StoreDir(${JSON.stringify(dir)}).withLock('maps', 'm', () => {
      console.log('held');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      writeFileSync(${JSON.stringify(mark)}, 'done');
    });
  `]);
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  let marked = false;
  store.withLock('maps', 'm', () => (marked = existsSync(mark)));
  assert.ok(marked, 'this process got the lock only after the holder let go');
  await new Promise((r) => holder.once('close', r));
});
