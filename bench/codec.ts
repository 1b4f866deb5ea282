// Codec decode/encode cost per value, beside the same reads written by hand, interleaved (the
// floor a codec can approach). Run alone: npm run bench -- codec
import { be16, ipv4, struct, u32, u64, u8 } from '../src/index.js';
import { interleave, nsPerEntry, pairRow, type Row } from './harness.js';

const N = 1_000_000;

export function codecRows(reps: number): Row[] {
  const pair = (what: string, byHand: string, ours: () => void, theirs: () => void): Row =>
    pairRow('codec', what, byHand, interleave(reps, nsPerEntry(() => (ours(), N)), nsPerEntry(() => (theirs(), N))));
  const k32 = Buffer.alloc(4 * N);
  const v64 = Buffer.alloc(8 * N);
  for (let i = 0; i < N; i++) {
    k32.writeUInt32LE(i, 4 * i);
    v64.writeBigUInt64LE(BigInt(i) << 20n, 8 * i);
  }
  let sink = 0;
  let bsink = 0n;
  const out: Row[] = [
    pair('u32.decode', 'readUInt32LE loop',
      () => { for (let i = 0; i < N; i++) sink += u32.decode(k32, 4 * i); },
      () => { for (let i = 0; i < N; i++) sink += k32.readUInt32LE(4 * i); }),
    pair('u64.decode', 'readBigUInt64LE loop',
      () => { for (let i = 0; i < N; i++) bsink += u64.decode(v64, 8 * i); },
      () => { for (let i = 0; i < N; i++) bsink += v64.readBigUInt64LE(8 * i); }),
    pair('u64.encode', 'writeBigUInt64LE loop',
      () => { for (let i = 0; i < N; i++) u64.encode(BigInt(i), v64, 8 * i); },
      () => { for (let i = 0; i < N; i++) v64.writeBigUInt64LE(BigInt(i), 8 * i); }),
  ];
  const flow = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });
  const fb = Buffer.alloc(flow.size * N);
  for (let i = 0; i < N; i++) flow.encode({ saddr: '10.0.0.1', daddr: `10.1.${(i >> 8) & 255}.${i & 255}`, sport: i & 0xffff, dport: 443, proto: 6 }, fb, flow.size * i);
  out.push(pair('struct flow (5 fields) decode', 'object literal by hand',
    () => { for (let i = 0; i < N; i++) sink += flow.decode(fb, flow.size * i).sport; },
    () => {
      for (let i = 0; i < N; i++) {
        const o = flow.size * i;
        const v = {
          saddr: `${fb[o]}.${fb[o + 1]}.${fb[o + 2]}.${fb[o + 3]}`,
          daddr: `${fb[o + 4]}.${fb[o + 5]}.${fb[o + 6]}.${fb[o + 7]}`,
          sport: fb.readUInt16BE(o + 8),
          dport: fb.readUInt16BE(o + 10),
          proto: fb[o + 12] as number,
        };
        sink += v.sport;
      }
    }));
  if (sink < 0 || bsink < 0n) throw new Error('unreachable');
  return out;
}
