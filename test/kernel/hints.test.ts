import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfError } from '../../src/kernel/error.js';
import { HINT_ROWS, hintFor, hintRow } from '../../src/kernel/hints.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { BpfMap } from '../../src/map/map.js';
import {
  BPF_F_RDONLY,
  BPF_F_WRONLY,
  BPF_MAP_LOOKUP_ELEM,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET,
  BPF_MAP_CREATE,
} from '../../src/sys/constants.js';
import { errno } from '../../src/sys/errno.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { emuStoreDir, pinPath, testKernels } from '../helpers/kernel.js';

type Raw = BpfMap<Buffer, Buffer>;
const k4 = (n: number): Buffer => Buffer.from(Uint32Array.of(n).buffer);
const v4 = Buffer.alloc(4);

function hash(kernel: Kernel, maxEntries = 4, flags: string[] = []): Raw {
  return BpfMap.create({ kernel, type: 'hash', keySize: 4, valueSize: 4, maxEntries, flags: flags as never }) as Raw;
}

function array(kernel: Kernel): Raw {
  return BpfMap.create({ kernel, type: 'array', keySize: 4, valueSize: 4, maxEntries: 4 }) as Raw;
}

/** The BpfError fn throws. */
function failure(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BpfError) return e;
    throw e;
  }
  assert.fail('expected a BpfError');
}

/** Opens a pin of map with fileFlags, runs fn on it, and removes the pin. */
function viaPin<T>(kernel: Kernel, map: Raw, opts: { readOnly?: boolean; writeOnly?: boolean }, fn: (m: Raw) => T): T {
  const path = pinPath('hints');
  map.pin(path);
  try {
    using m = BpfMap.openPinned(path, { kernel, raw: true, ...opts }) as Raw;
    return fn(m);
  } finally {
    kernel.unpin(path);
  }
}

interface Scenario {
  row: string;
  /** What it does, when a row has several scenarios. */
  name?: string;
  /** What the hint must say. */
  says: RegExp;
  /** Only the real kernel can produce it (the emulated bpffs answers differently, by design). */
  linuxOnly?: boolean;
  run(kernel: Kernel): BpfError;
}

const SCENARIOS: Scenario[] = [
  {
    row: 'pin-path',
    says: /does not exist: create it on a bpf filesystem first, mkdir -p/,
    linuxOnly: true,
    run: (k) => {
      using m = hash(k);
      return failure(() => m.pin(`${pinPath('hints-nodir')}/x`));
    },
  },
  {
    row: 'pin-path',
    name: 'openPinned off any bpf filesystem',
    says: /^\/proc\/self is not on a bpf filesystem: pins live on one/,
    run: (k) => failure(() => BpfMap.openPinned('/proc/self/status', { kernel: k })),
  },
  {
    row: 'map-rdonly',
    says: /created with the rdonly flag.*opened again/,
    run: (k) => {
      using m = hash(k, 4, ['rdonly']);
      return failure(() => m.set(k4(1), v4));
    },
  },
  {
    row: 'map-wronly',
    says: /created with the wronly flag.*opened again/,
    run: (k) => {
      using m = hash(k, 4, ['wronly']);
      return failure(() => m.get(k4(1)));
    },
  },
  {
    row: 'handle-read-only',
    says: /^this handle was opened read-only \(readOnly: true/,
    run: (k) => {
      using m = hash(k);
      return viaPin(k, m, { readOnly: true }, (ro) => failure(() => ro.set(k4(1), v4)));
    },
  },
  {
    row: 'handle-write-only',
    says: /^this handle was opened write-only \(writeOnly: true/,
    run: (k) => {
      using m = hash(k);
      return viaPin(k, m, { writeOnly: true }, (wo) => failure(() => wo.get(k4(1))));
    },
  },
  {
    row: 'frozen',
    says: /^the map is frozen \(BPF_MAP_FREEZE\)/,
    run: (k) => {
      using m = hash(k);
      m.freeze();
      return failure(() => m.updateBatch([[k4(1), v4]]));
    },
  },
  {
    row: 'unsupported',
    says: /^array maps do not support BPF_MAP_LOOKUP_AND_DELETE_ELEM/,
    run: (k) => {
      using m = array(k);
      return failure(() => m.getAndDelete(k4(0)));
    },
  },
  {
    row: 'lock',
    says: /bpf_spin_lock/,
    run: (k) => {
      using m = hash(k);
      m.set(k4(1), v4);
      return failure(() => m.get(k4(1), { lock: true }));
    },
  },
  {
    row: 'array-delete',
    says: /^array maps cannot delete elements: every index/,
    run: (k) => {
      using m = array(k);
      return failure(() => m.delete(k4(0)));
    },
  },
  {
    row: 'batch-einval',
    says: /flags must be 0/,
    run: (k) => {
      using m = hash(k);
      return failure(() => m.lookupBatch({ flags: 1 }));
    },
  },
  {
    row: 'lpm-no-prealloc',
    says: /^lpm_trie maps must be created with the no_prealloc flag/,
    run: (k) => failure(() => BpfMap.create({ kernel: k, type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 16 })),
  },
  {
    row: 'lpm-sizes',
    says: /key_size 5 to 260/,
    run: (k) =>
      failure(() => BpfMap.create({ kernel: k, type: 'lpm_trie', keySize: 4, valueSize: 4, maxEntries: 16, flags: ['no_prealloc'] })),
  },
  {
    row: 'create-einval',
    says: /rejected the map attributes/,
    run: (k) => failure(() => BpfMap.create({ kernel: k, type: 'hash', keySize: 0, valueSize: 4, maxEntries: 16 })),
  },
  {
    row: 'hash-too-many',
    says: /^max_entries 2147483648 is more than hash maps can have \(at most 268435456/,
    run: (k) => failure(() => BpfMap.create({ kernel: k, type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 ** 31 })),
  },
  {
    row: 'create-too-big',
    says: /^a size is larger than percpu_hash maps allow \(key_size 4, value_size 40000, max_entries 4\)/,
    run: (k) => failure(() => BpfMap.create({ kernel: k, type: 'percpu_hash', keySize: 4, valueSize: 40000, maxEntries: 4 })),
  },
  {
    row: 'array-index',
    says: /^the index is past the end of the array \(indexes 0 to 3\)/,
    run: (k) => {
      using m = array(k);
      return failure(() => m.set(k4(4), v4));
    },
  },
  {
    row: 'queue-full',
    says: /^the queue is full \(1 values\): pop values, or push with overwrite/,
    run: (k) => {
      using q = BpfMap.create({ kernel: k, type: 'queue', keySize: 0, valueSize: 4, maxEntries: 1 });
      q.push(v4);
      return failure(() => q.push(v4));
    },
  },
  {
    row: 'full',
    says: /^the map is full \(max_entries 2 reached\)/,
    run: (k) => {
      using m = hash(k, 2);
      return failure(() =>
        m.updateBatch([
          [k4(1), v4],
          [k4(2), v4],
          [k4(3), v4],
        ]),
      );
    },
  },
  {
    row: 'array-noexist',
    says: /^array elements always exist/,
    run: (k) => {
      using m = array(k);
      return failure(() => m.set(k4(0), v4, { flags: 'noexist' }));
    },
  },
  {
    row: 'pin-exists',
    says: /already pinned/,
    run: (k) => {
      using m = hash(k);
      const path = pinPath('hints-twice');
      m.pin(path);
      try {
        return failure(() => m.pin(path));
      } finally {
        k.unpin(path);
      }
    },
  },
  {
    row: 'noexist',
    says: /already exists and 'noexist'/,
    run: (k) => {
      using m = hash(k);
      m.set(k4(1), v4);
      return failure(() => m.set(k4(1), v4, { flags: 'noexist' }));
    },
  },
  {
    row: 'no-map-id',
    says: /no map has that id/,
    run: (k) => failure(() => BpfMap.fromId(0xffffffff, { kernel: k })),
  },
  {
    row: 'not-pinned',
    says: /^nothing is pinned at that path$/,
    run: (k) => failure(() => BpfMap.openPinned(pinPath('hints-none'), { kernel: k })),
  },
  {
    row: 'exist',
    says: /does not exist and 'exist'/,
    run: (k) => {
      using m = hash(k);
      return failure(() => m.set(k4(1), v4, { flags: 'exist' }));
    },
  },
  {
    row: 'delete-batch-missing',
    says: /^a key of the batch is not in the map/,
    run: (k) => {
      using m = hash(k);
      return failure(() => m.deleteBatch([k4(9)]));
    },
  },
  {
    row: 'closed',
    says: /was it closed/,
    run: (k) => {
      const m = hash(k);
      const fd = m.fd;
      m.close();
      return failure(() => k.lookup(fd, k4(1), Buffer.alloc(4), 0));
    },
  },
  {
    row: 'bucket-larger-than-batch',
    says: /retry with a larger count/,
    run: (k) => {
      // zero_seed makes the buckets the same on both kernels: find two keys sharing one.
      using m = hash(k, 2, ['zero_seed']);
      m.set(k4(0), v4);
      for (let i = 1; i < 64; i++) {
        m.set(k4(i), v4);
        try {
          m.lookupBatch({ count: 1 });
        } catch (e) {
          if (e instanceof BpfError) return e;
          throw e;
        }
        m.delete(k4(i));
      }
      assert.fail('no two of 64 keys share a bucket');
    },
  },
  {
    row: 'memory',
    says: /out of memory/,
    // 2^20 values of 32 MiB: more pages than any machine here has, refused before allocating.
    run: (k) => failure(() => BpfMap.create({ kernel: k, type: 'array', keySize: 4, valueSize: 2 ** 25, maxEntries: 2 ** 20 })),
  },
];

/** Rows no scenario here can reach (they need another user, an unknown context, or no bpf()): tested on the table. */
const TABLE_ONLY: Record<string, () => void> = {
  'pin-mode': () => assert.match(hintFor(BPF_OBJ_GET, errno.EACCES) ?? '', /file mode/),
  'write-denied': () => assert.match(hintFor(BPF_MAP_UPDATE_ELEM, errno.EPERM) ?? '', /read-only.*opened read-only, or frozen.*CAP_BPF/),
  'read-denied': () => assert.match(hintFor(BPF_MAP_LOOKUP_ELEM, errno.EPERM) ?? '', /write-only.*CAP_BPF/),
  privileges: () => {
    assert.match(hintFor(BPF_MAP_CREATE, errno.EPERM) ?? '', /CAP_BPF.*BPFMAP_KERNEL=emulated/);
    // A write through a read-write fd of a map that is not frozen: only privileges are left.
    assert.equal(hintRow(BPF_MAP_UPDATE_ELEM, errno.EPERM, { access: 'read-write', frozen: false })?.id, 'privileges');
  },
  'full-or-index': () => assert.match(hintFor(BPF_MAP_UPDATE_BATCH, errno.E2BIG) ?? '', /full .* or the index is past the end/),
  'no-syscall': () => assert.match(hintFor(BPF_MAP_CREATE, errno.ENOSYS) ?? '', /CONFIG_BPF_SYSCALL/),
};

const hintsSeen = new Map<string, string>();

for (const k of testKernels()) {
  for (const s of SCENARIOS) {
    if (s.linuxOnly && k.name !== 'linux') continue;
    const title = s.name === undefined ? s.row : `${s.row} (${s.name})`;
    test(`hint row ${title} on the ${k.name} kernel`, (t) => {
      if (!k.available(t)) return;
      const e = s.run(k.kernel());
      assert.equal(e.hintId, s.row, e.message);
      assert.match(e.hint ?? '', s.says);
      assert.ok(e.message.endsWith(`(${e.hint})`));
      // The emulated kernel says what the real one says.
      const other = hintsSeen.get(title);
      if (other !== undefined) assert.equal(e.hint, other);
      hintsSeen.set(title, e.hint ?? '');
    });
  }
}

for (const [row, check] of Object.entries(TABLE_ONLY)) test(`hint row ${row}, from the table`, check);

test('every row of the hint table has a test', () => {
  const tested = new Set([...SCENARIOS.map((s) => s.row), ...Object.keys(TABLE_ONLY)]);
  assert.deepEqual(
    HINT_ROWS.map((r) => r.id).filter((id) => !tested.has(id)),
    [],
  );
  assert.equal(new Set(HINT_ROWS.map((r) => r.id)).size, HINT_ROWS.length, 'row ids are unique');
});

test('the hint follows what is known: E2BIG on MAP_CREATE is never "full", and a read-only handle is named alone', () => {
  assert.doesNotMatch(hintFor(BPF_MAP_CREATE, errno.E2BIG, { mapType: BPF_MAP_TYPE_ARRAY, maxEntries: 4 }) ?? '', /full/);
  const ro = hintFor(BPF_MAP_UPDATE_ELEM, errno.EPERM, { access: 'read-only', frozen: false, mapFlags: 0 }) ?? '';
  assert.doesNotMatch(ro, /CAP_BPF|frozen|BPF_F_WRONLY/);
  assert.match(
    hintFor(BPF_MAP_UPDATE_ELEM, errno.EPERM, { access: 'read-only', frozen: false, createFlags: BPF_F_RDONLY }) ?? '',
    /rdonly flag/,
  );
  assert.match(
    hintFor(BPF_MAP_LOOKUP_ELEM, errno.EPERM, { access: 'write-only', frozen: false, createFlags: BPF_F_WRONLY }) ?? '',
    /wronly flag/,
  );
});

test('a hint the thrower gives stays; a table hint is chosen again as context is added', () => {
  const given = new BpfError(BPF_MAP_UPDATE_ELEM, errno.EPERM, { hint: 'mine' }).refine({ access: 'read-only', frozen: false });
  assert.equal(given.hint, 'mine');
  assert.equal(given.hintId, undefined);
  const table = new BpfError(BPF_MAP_UPDATE_ELEM, errno.EPERM);
  assert.equal(table.hintId, 'write-denied');
  table.refine({ access: 'read-only', frozen: false });
  assert.equal(table.hintId, 'handle-read-only');
  assert.match(table.message, /\(this handle was opened read-only/);
});

test('the emulated kernel stands in with the same context: a frozen map read-only by handle says read-only first', () => {
  const k = new EmulatedKernel({ dir: emuStoreDir() });
  using m = hash(k);
  const e = viaPin(k, m, { readOnly: true }, (ro) => failure(() => ro.delete(k4(1))));
  assert.equal(e.hintId, 'handle-read-only');
});
