// V8 reports each protector it invalidates with --trace-protector-invalidation. One detached
// ArrayBuffer invalidates ArrayBufferDetaching for the whole isolate: every typed-array access then
// checks its buffer for detachment (a plain typed-array loop took twice as long).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * Runs `script` (an ES module's body) in a child node traced for protector invalidations and fails
 * if anything in it detaches a buffer. A deliberate detach after it must show, or the trace proves
 * nothing.
 */
export function assertNoDetach(script: string): void {
  const control = `
    console.log('script done');
    const control = new ArrayBuffer(8);
    structuredClone(control, { transfer: [control] });
    console.log('control done');
  `;
  const r = spawnSync(process.execPath, ['--trace-protector-invalidation', '--input-type=module', '-e', script + control], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const at = (s: string): number => lines.findIndex((l) => l.includes(s));
  const invalidated = at('protector cell ArrayBufferDetaching');
  assert.ok(at('script done') >= 0 && at('control done') > at('script done'), r.stdout);
  assert.ok(invalidated > at('script done'), `the script detached a buffer (V8's detaching protector went):\n${r.stdout}`);
  assert.ok(invalidated < at('control done'), `the control's detach did not show: the trace proves nothing here:\n${r.stdout}`);
}
