import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { countCpuList, possibleCpus } from '../../src/kernel/cpus.js';

test('countCpuList reads kernel CPU lists', () => {
  assert.equal(countCpuList('0\n'), 1);
  assert.equal(countCpuList('0-1\n'), 2);
  assert.equal(countCpuList('0-3,5,7-8'), 7);
  assert.throws(() => countCpuList('3-1'), /malformed/);
  assert.throws(() => countCpuList('a'), /malformed/);
  assert.throws(() => countCpuList(''), /empty/);
});

test('possibleCpus matches /sys/devices/system/cpu/possible', () => {
  const list = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
  assert.equal(possibleCpus(), countCpuList(list));
  assert.ok(possibleCpus() >= 1);
});
