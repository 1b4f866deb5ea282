// Bob Jenkins' lookup3 hash as the kernel's include/linux/jhash.h computes it: the byte variant
// (jhash) and the 32-bit word variant (jhash2), all arithmetic in u32.

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

/** State of one hash computation: a, b, c as in the kernel. */
class Lookup3 {
  a: number;
  b: number;
  c: number;

  constructor(init: number) {
    this.a = this.b = this.c = init >>> 0;
  }

  mix(): void {
    let { a, b, c } = this;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    this.a = a; this.b = b; this.c = c;
  }

  final(): void {
    let { a, b, c } = this;
    c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
    a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
    b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
    c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
    a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
    b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
    c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
    this.a = a; this.b = b; this.c = c;
  }
}

/** Little-endian u32 at off (the kernel reads CPU-endian words; bpfmap targets little-endian hosts). */
function word(k: Uint8Array, off: number): number {
  return ((k[off] as number) | ((k[off + 1] as number) << 8) | ((k[off + 2] as number) << 16) | ((k[off + 3] as number) << 24)) >>> 0;
}

/** jhash(key, length, initval): the byte variant. */
export function jhash(key: Uint8Array, initval: number): number {
  let length = key.length;
  const s = new Lookup3(JHASH_INITVAL + length + initval);
  let off = 0;
  while (length > 12) {
    s.a = (s.a + word(key, off)) >>> 0;
    s.b = (s.b + word(key, off + 4)) >>> 0;
    s.c = (s.c + word(key, off + 8)) >>> 0;
    s.mix();
    length -= 12;
    off += 12;
  }
  if (length === 0) return s.c;
  // The tail: up to 12 bytes added into a, b, c, byte i at bit 8 * (i % 4).
  const lanes: Array<'a' | 'b' | 'c'> = ['a', 'b', 'c'];
  for (let i = length - 1; i >= 0; i--) {
    const lane = lanes[i >> 2] as 'a' | 'b' | 'c';
    s[lane] = (s[lane] + (((key[off + i] as number) << (8 * (i & 3))) >>> 0)) >>> 0;
  }
  s.final();
  return s.c;
}

/** jhash2(words, length in words, initval): the word variant, over a key whose length is a multiple of 4. */
export function jhash2(key: Uint8Array, initval: number): number {
  let length = key.length >> 2;
  const s = new Lookup3(JHASH_INITVAL + (length << 2) + initval);
  let off = 0;
  while (length > 3) {
    s.a = (s.a + word(key, off)) >>> 0;
    s.b = (s.b + word(key, off + 4)) >>> 0;
    s.c = (s.c + word(key, off + 8)) >>> 0;
    s.mix();
    length -= 3;
    off += 12;
  }
  if (length === 0) return s.c;
  if (length === 3) s.c = (s.c + word(key, off + 8)) >>> 0;
  if (length >= 2) s.b = (s.b + word(key, off + 4)) >>> 0;
  s.a = (s.a + word(key, off)) >>> 0;
  s.final();
  return s.c;
}

/** The hash table's hash of a key (htab_map_hash): jhash2 when the key is whole words, jhash otherwise. */
export function htabHash(key: Uint8Array, seed: number): number {
  return key.length % 4 === 0 ? jhash2(key, seed) : jhash(key, seed);
}
