import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BtfBuilder } from '../../src/btf/encode.js';
import { identifier, typescriptModule, type TsMapSpec } from '../../src/btf/typescript.js';

function spec(b: BtfBuilder, name: string, value: number, extra: Partial<TsMapSpec> = {}): TsMapSpec {
  const btf = b.btf();
  return {
    name,
    about: name,
    btf,
    keyTypeId: 0,
    valueTypeId: value,
    keySize: 4,
    valueSize: btf.sizeOf(value),
    perCpu: false,
    indexKey: true,
    ...extra,
  };
}

test('types as codecFromBtf decodes them: anonymous members merged, inline anonymous structs, bitfields, enum64, pointers', () => {
  const b = new BtfBuilder();
  const u32 = b.int('unsigned int', 4);
  const u64 = b.int('unsigned long', 8);
  const inner = b.struct('', [{ name: 'x', type: u32 }]);
  const merged = b.union('', [
    { name: 'a', type: u32 },
    { name: 'b', type: u32 },
  ]);
  const big = b.enum('big', { HUGE: 1n << 40n }, 8);
  const v = b.struct('mix', [
    { name: 'in', type: inner },
    { name: '', type: merged },
    { name: 'wide', type: u64, bits: 40, bitOffset: 64 },
    { name: 'narrow', type: u64, bits: 3, bitOffset: 104 },
    { name: 'e', type: big },
    { name: 'p', type: b.ptr(u32) },
  ]);
  const text = typescriptModule([spec(b, 'mix-map', v)], { importFrom: 'bpfmap', source: 'a test' });
  assert.match(text, /^export type Big = "HUGE";$/m);
  assert.match(
    text,
    /^export type Mix = \{\n {2}in: \{\n {4}x: number;\n {2}\};\n {2}a: number;\n {2}b: number;\n {2}wide: bigint;\n {2}narrow: number;\n {2}e: Big \| bigint;\n {2}p: bigint;\n\};$/m,
  );
  assert.match(text, /^export const mix_map = \{ key: u32, value: codec<Mix>\(\d+\) \};$/m);
});

test('a map without BTF speaks bytes; two different types of one name are told apart; per-CPU values are wrapped', () => {
  const a = new BtfBuilder();
  const s1 = a.struct('stat', [{ name: 'n', type: a.int('unsigned int', 4) }]);
  const b = new BtfBuilder();
  const s2 = b.struct('stat', [{ name: 'n', type: b.int('unsigned long long', 8) }]);
  const raw: TsMapSpec = {
    name: '9raw',
    about: 'raw',
    btf: undefined,
    keyTypeId: 0,
    valueTypeId: 0,
    keySize: 6,
    valueSize: 10,
    perCpu: false,
    indexKey: false,
  };
  const text = typescriptModule([spec(a, 'one', s1), spec(b, 'two', s2, { perCpu: true }), raw], { importFrom: 'x', source: 'a test' });
  assert.match(text, /^export type Stat = \{\n {2}n: number;\n\};$/m);
  assert.match(text, /^export type Stat2 = \{\n {2}n: bigint;\n\};$/m);
  assert.match(text, /^export const two = \{ key: u32, value: perCpu\(codec<Stat2>\(\d+\)\) \};$/m);
  assert.match(text, /^export const _9raw = \{ key: bytes\(6\), value: bytes\(10\) \};$/m);
  assert.match(text, /^import \{ bytes, type Codec, codecFromBtf, parseBtf, perCpu, u32 \} from "x";$/m);
  assert.equal(identifier('g.bss'), 'g_bss');
});
