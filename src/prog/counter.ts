import { BPF_NOEXIST } from '../sys/constants.js';
import { Assembler, type Reg } from './asm.js';
import { BpfProgram } from './program.js';

/** A map the counter writes to, or reads its inner map or drop count from: anything with an fd. */
export interface MapHandle {
  readonly fd: number;
}

/** Options of counterInsns and loadCounter. */
export interface CounterOptions {
  /**
   * Where the count goes: a hash, percpu_hash, lru_hash or lru_percpu_hash map with u32 keys and
   * u64 values; or { outer, slot } to write to the inner map in a slot of an array_of_maps or
   * hash_of_maps (u32 key, default 0), looked up on every run.
   */
  target: { map: MapHandle } | { outer: MapHandle; slot?: number };
  /** Key space: keys are 0 .. keys-1. */
  keys: number;
  /** How a run picks its key: bpf_get_prandom_u32() % keys (default) or the CPU id % keys. */
  keyFrom?: 'random' | 'cpu';
  /** Times a run inserts the key with BPF_NOEXIST and looks it up again before giving up (default 3). */
  retries?: number;
  /**
   * An array map (u32 key, u64 value) whose entry 0 counts runs that could not count (map
   * full, or no inner map in the slot), so a test can tell those from increments a drain lost.
   */
  dropped?: MapHandle;
  name?: string;
}

const R0: Reg = 0, R1: Reg = 1, R2: Reg = 2, R3: Reg = 3, R4: Reg = 4, R7: Reg = 7, R8: Reg = 8, FP: Reg = 10;
// Stack slots.
const KEY = -4;
const ZERO_KEY = -8; // key 0 of the drop map
const SLOT = -20;
const ZERO_VALUE = -16;

/**
 * The counter program's instructions: pick a key, look it up, insert 0 with BPF_NOEXIST when it
 * is absent (losing that race to another CPU is fine: the lookup is retried), then add 1 with an
 * atomic add through the value pointer. Returns 0 when counted, 1 when dropped.
 */
export function counterInsns(o: CounterOptions): Buffer {
  if (!Number.isInteger(o.keys) || o.keys < 1 || o.keys > 0x7fffffff) throw new RangeError(`counter: keys must be an integer from 1 to 2^31-1, got ${String(o.keys)}`);
  const retries = o.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 64) throw new RangeError(`counter: retries must be an integer from 0 to 64, got ${String(retries)}`);
  const keyFrom = o.keyFrom ?? 'random';
  if (keyFrom !== 'random' && keyFrom !== 'cpu') throw new TypeError(`counter: keyFrom must be "random" or "cpu", got "${String(keyFrom)}"`);

  const a = new Assembler();
  a.call(keyFrom === 'random' ? 'get_prandom_u32' : 'get_smp_processor_id')
    .alu32('mod', R0, o.keys)
    .store('w', FP, KEY, R0)
    .storeImm('w', FP, ZERO_KEY, 0)
    .storeImm('dw', FP, ZERO_VALUE, 0);

  // The map to count into goes in r1: the map itself, or the inner map kept in r8 (callee-saved).
  let loadMap: (dst: Reg) => void;
  if ('outer' in o.target) {
    const outer = o.target.outer.fd;
    const slot = o.target.slot ?? 0;
    if (!Number.isInteger(slot) || slot < 0 || slot > 0xffffffff) throw new RangeError(`counter: slot must be a u32, got ${String(slot)}`);
    a.storeImm('w', FP, SLOT, slot | 0)
      .ldMapFd(R1, outer).movReg(R2, FP).alu64('add', R2, SLOT).call('map_lookup_elem')
      .jmp('jeq', R0, 0, 'dropped')
      .movReg(R8, R0);
    loadMap = (dst) => a.movReg(dst, R8);
  } else {
    const fd = o.target.map.fd;
    loadMap = (dst) => a.ldMapFd(dst, fd);
  }

  a.mov(R7, retries).label('retry');
  loadMap(R1);
  a.movReg(R2, FP).alu64('add', R2, KEY).call('map_lookup_elem')
    .jmp('jne', R0, 0, 'hit')
    .jmp('jeq', R7, 0, 'dropped')
    .alu64('sub', R7, 1);
  loadMap(R1);
  a.movReg(R2, FP).alu64('add', R2, KEY)
    .movReg(R3, FP).alu64('add', R3, ZERO_VALUE)
    .mov(R4, BPF_NOEXIST)
    .call('map_update_elem')
    .ja('retry');

  a.label('hit').mov(R1, 1).atomicAdd('dw', R0, 0, R1).mov(R0, 0).exit();

  a.label('dropped');
  if (o.dropped) {
    a.ldMapFd(R1, o.dropped.fd).movReg(R2, FP).alu64('add', R2, ZERO_KEY).call('map_lookup_elem')
      .jmp('jeq', R0, 0, 'out')
      .mov(R1, 1).atomicAdd('dw', R0, 0, R1);
  }
  a.label('out').mov(R0, 1).exit();
  return a.build();
}

/** Loads the counter program (a socket filter, run with testRun()). */
export function loadCounter(o: CounterOptions): BpfProgram {
  return BpfProgram.load({ type: 'socket_filter', insns: counterInsns(o), name: o.name ?? 'bpfmap_counter' });
}
