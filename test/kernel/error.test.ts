import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfError, isErrno } from '../../src/kernel/error.js';
import { hintFor } from '../../src/kernel/hints.js';
import {
  BPF_MAP_CREATE,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH,
  BPF_MAP_LOOKUP_BATCH,
  BPF_MAP_UPDATE_BATCH,
  BPF_MAP_UPDATE_ELEM,
  BPF_OBJ_GET_INFO_BY_FD,
} from '../../src/sys/constants.js';
import { errno, ENOTSUPP } from '../../src/sys/errno.js';

test('BpfError names the command, the errno, the map and a hint', () => {
  const e = new BpfError(BPF_MAP_UPDATE_ELEM, errno.EEXIST, { map: { id: 7, name: 'flows' } });
  assert.equal(e.command, 'BPF_MAP_UPDATE_ELEM');
  assert.equal(e.code, 'EEXIST');
  assert.equal(e.errno, errno.EEXIST);
  assert.match(e.message, /^BPF_MAP_UPDATE_ELEM on map id 7 "flows" failed: EEXIST \(.*noexist/);
  assert.ok(isErrno(e, 'EEXIST'));
  assert.ok(!isErrno(e, 'ENOENT'));
});

test('BpfError gains map context once, and reports applied counts of batch writes', () => {
  const e = new BpfError(BPF_MAP_UPDATE_BATCH, errno.E2BIG, { count: 3, applied: 3 });
  assert.doesNotMatch(e.message, /on map/);
  e.withMap({ id: 1, name: 'a' }).withMap({ id: 2 });
  assert.match(e.message, /on map id 1 "a" failed: E2BIG after 3 element\(s\) applied/);
  assert.equal(e.applied, 3);
});

test('hints point at the fix', () => {
  assert.match(hintFor(BPF_MAP_CREATE, errno.EPERM) ?? '', /CAP_BPF.*BPFMAP_KERNEL=emulated/);
  assert.match(hintFor(BPF_MAP_UPDATE_ELEM, errno.EPERM) ?? '', /read-only/);
  assert.match(hintFor(BPF_MAP_LOOKUP_BATCH, errno.EINVAL) ?? '', /5\.6/);
  assert.match(hintFor(BPF_MAP_LOOKUP_BATCH, errno.EINVAL, { elemFlags: 4 }) ?? '', /bpf_spin_lock/);
  assert.match(hintFor(BPF_MAP_LOOKUP_AND_DELETE_BATCH, ENOTSUPP) ?? '', /do not support BPF_MAP_LOOKUP_AND_DELETE_BATCH/);
  assert.equal(new BpfError(BPF_MAP_LOOKUP_BATCH, ENOTSUPP).code, 'ENOTSUPP');
  assert.match(new BpfError(BPF_OBJ_GET_INFO_BY_FD, 77).message, /EBADFD .*was it closed/);
});
