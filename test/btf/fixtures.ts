import { BtfBuilder } from '../../src/btf/encode.js';
import { EmulatedKernel } from '../../src/kernel/emulated.js';
import { LINUX, type KernelUnderTest } from '../helpers/kernel.js';

/** A blob with one type of every kind, built through the builder and raw add(). */
export function everyKind(): BtfBuilder {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const s8 = b.int('signed char', 1, { signed: true });
  const chr = b.int('char', 1, { char: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const u64 = b.int('long long unsigned int', 8);
  const ptr = b.ptr(chr);
  const arr = b.array(chr, 16);
  const e = b.enum('state', { IDLE: 0, BUSY: 1, NEG: -1 });
  const e64 = b.enum('big', { HUGE: 1n << 40n, ONE: 1n }, 8);
  const lock = b.spinLock();
  const inner = b.union('u', [{ name: 'a', type: u32 }, { name: 'b', type: u64 }]);
  const flags = b.struct('flags', [
    { name: 'lo', type: u32, bits: 3, bitOffset: 0 },
    { name: 'hi', type: u32, bits: 5, bitOffset: 3 },
    { name: 'st', type: e, bits: 4, bitOffset: 8 },
  ]);
  const fwd = b.add({ kind: 'fwd', name: 'later', union: false });
  const fwdu = b.add({ kind: 'fwd', name: 'ulater', union: true });
  const td = b.typedef('u32_t', u32);
  const cv = b.qualifier('const', b.qualifier('volatile', td));
  const rp = b.qualifier('restrict', b.ptr(fwd));
  const f = b.float('double', 8);
  const tag = b.ptr(b.add({ kind: 'type_tag', name: 'user', type: fwdu, attribute: false }));
  const value = b.struct('value', [
    { name: 'lock', type: lock },
    { name: 'name', type: arr },
    { name: 'count', type: u64 },
    { name: 's', type: s8 },
    { name: 'ok', type: bool },
    { name: 'st', type: e },
    { name: 'big', type: e64 },
    { name: 'u', type: inner },
    { name: 'c', type: cv },
    { name: 'p', type: ptr },
    { name: 'r', type: rp },
    { name: 'd', type: f },
  ]);
  // Kept apart from the spin lock: the kernel (6.18) refuses a struct of several bitfields nested
  // in a value that holds a bpf_spin_lock.
  b.struct('outer', [{ name: 'fl', type: flags }, { name: 'n', type: u64 }]);
  // Pointers with type tags beside a bpf_spin_lock are kptr candidates; the kernel only knows its own tags.
  b.struct('tagged', [{ name: 't', type: tag }]);
  const proto = b.add({ kind: 'func_proto', name: '', returnType: u32, params: [{ name: 'v', type: b.ptr(value) }, { name: '', type: 0 }] });
  const fn = b.add({ kind: 'func', name: 'handler', type: proto, linkage: 1 });
  b.add({ kind: 'decl_tag', name: 'kfunc', type: fn, componentIdx: -1, attribute: false });
  b.add({ kind: 'decl_tag', name: 'nonnull', type: fn, componentIdx: 0, attribute: true });
  const v = b.add({ kind: 'var', name: 'counter', type: u64, linkage: 1 });
  b.add({ kind: 'datasec', name: '.data', size: 8, vars: [{ type: v, offset: 0, size: 8 }] });
  return b;
}

let emulated: EmulatedKernel | undefined;

/** The kernels BTF behaviour is tested on: the real one, and the emulated one, which must agree. */
export function btfKernels(): KernelUnderTest[] {
  return [LINUX, { name: 'emulated', available: () => true, kernel: () => (emulated ??= new EmulatedKernel()) }];
}
