// Codec decode/encode cost per value, beside the same reads written by hand in the same run
// (the floor a codec can approach). Run: npx tsc -p . && node dist/bench/codec.js
import { be16, ipv4, struct, u32, u64, u8 } from '../src/index.js';
import { type Row, table, time } from './harness.js';

const N = 1_000_000;
const REPS = 7;

function rows(): Row[] {
  const out: Row[] = [];
  const k32 = Buffer.alloc(4 * N);
  const v64 = Buffer.alloc(8 * N);
  for (let i = 0; i < N; i++) {
    k32.writeUInt32LE(i, 4 * i);
    v64.writeBigUInt64LE(BigInt(i) << 20n, 8 * i);
  }
  let sink = 0;
  let bsink = 0n;
  const byHand32 = time(REPS, () => {
    for (let i = 0; i < N; i++) sink += k32.readUInt32LE(4 * i);
    return N;
  });
  out.push({ what: 'u32.decode', bpfmap: time(REPS, () => { for (let i = 0; i < N; i++) sink += u32.decode(k32, 4 * i); return N; }), baseline: byHand32.median, baselineName: 'readUInt32LE loop' });
  const byHand64 = time(REPS, () => {
    for (let i = 0; i < N; i++) bsink += v64.readBigUInt64LE(8 * i);
    return N;
  });
  out.push({ what: 'u64.decode', bpfmap: time(REPS, () => { for (let i = 0; i < N; i++) bsink += u64.decode(v64, 8 * i); return N; }), baseline: byHand64.median, baselineName: 'readBigUInt64LE loop' });
  out.push({ what: 'u64.encode', bpfmap: time(REPS, () => { for (let i = 0; i < N; i++) u64.encode(BigInt(i), v64, 8 * i); return N; }), baseline: time(REPS, () => { for (let i = 0; i < N; i++) v64.writeBigUInt64LE(BigInt(i), 8 * i); return N; }).median, baselineName: 'writeBigUInt64LE loop' });

  const flow = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: 'flow' });
  const fb = Buffer.alloc(flow.size * N);
  for (let i = 0; i < N; i++) flow.encode({ saddr: '10.0.0.1', daddr: `10.1.${(i >> 8) & 255}.${i & 255}`, sport: i & 0xffff, dport: 443, proto: 6 }, fb, flow.size * i);
  const byHandFlow = time(REPS, () => {
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
    return N;
  });
  out.push({ what: 'struct flow (5 fields) decode', bpfmap: time(REPS, () => { for (let i = 0; i < N; i++) sink += flow.decode(fb, flow.size * i).sport; return N; }), baseline: byHandFlow.median, baselineName: 'object literal by hand' });
  if (sink < 0 || bsink < 0n) console.log('unreachable');
  return out;
}

console.log(table(rows()));
