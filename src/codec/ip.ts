import { isIPv4, isIPv6 } from 'node:net';
import { type Codec, CodecError, show } from './codec.js';

function inRange(name: string, size: number, buf: Buffer, offset: number): void {
  if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
}

function v4Text(buf: Buffer, o: number): string {
  return `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
}

/** Writes dotted-quad text (already validated) as 4 bytes. */
function writeV4(text: string, buf: Buffer, o: number): void {
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) buf[o + i] = Number(parts[i]);
}

function checkV4(v: unknown): string {
  if (typeof v !== 'string' || !isIPv4(v)) throw new CodecError('ipv4', `expected an IPv4 address like "10.0.0.1", got ${show(v)}`);
  return v;
}

/** An IPv4 address as text ("10.0.0.1") <-> 4 bytes in network order (a __be32, aligned to 4). */
export const ipv4: Codec<string> = {
  size: 4,
  name: 'ipv4',
  align: 4,
  encode(value: string, buf: Buffer, offset: number): void {
    const text = checkV4(value);
    inRange('ipv4', 4, buf, offset);
    writeV4(text, buf, offset);
  },
  decode(buf: Buffer, offset: number): string {
    inRange('ipv4', 4, buf, offset);
    return v4Text(buf, offset);
  },
  toJSON: (value) => value,
  fromJSON: checkV4,
};

function checkV6(v: unknown): string {
  // isIPv6 also accepts a zone ("fe80::1%eth0"), which 16 bytes cannot hold.
  if (typeof v !== 'string' || !isIPv6(v) || v.includes('%'))
    throw new CodecError('ipv6', `expected an IPv6 address like "2001:db8::1", got ${show(v)}`);
  return v;
}

/** Writes any valid IPv6 text form (already validated) as 16 bytes. */
function writeV6(text: string, buf: Buffer, o: number): void {
  let s = text;
  const groups: number[] = [];
  let tailV4 = -1;
  const dot = s.lastIndexOf('.');
  if (dot >= 0) {
    // An embedded IPv4 address ("::ffff:1.2.3.4") is the last 32 bits.
    const colon = s.lastIndexOf(':');
    tailV4 = colon;
    s = s.slice(0, colon + 1) + '0:0';
  }
  const gap = s.indexOf('::');
  const head = gap < 0 ? s : s.slice(0, gap);
  const tail = gap < 0 ? '' : s.slice(gap + 2);
  const hs = head === '' ? [] : head.split(':');
  const ts = tail === '' ? [] : tail.split(':');
  for (const g of hs) groups.push(parseInt(g, 16));
  for (let i = hs.length + ts.length; i < 8; i++) groups.push(0);
  for (const g of ts) groups.push(parseInt(g, 16));
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i] as number, o + 2 * i);
  if (tailV4 >= 0) writeV4(text.slice(tailV4 + 1), buf, o + 12);
}

/** RFC 5952 text: lowercase hex, no leading zeros, the longest run (2+) of zero groups as "::". */
function v6Text(buf: Buffer, o: number): string {
  let bestAt = -1;
  let bestLen = 1;
  let runAt = -1;
  for (let i = 0; i < 8; i++) {
    if (buf[o + 2 * i] === 0 && buf[o + 2 * i + 1] === 0) {
      if (runAt < 0) runAt = i;
      if (i - runAt + 1 > bestLen) {
        bestAt = runAt;
        bestLen = i - runAt + 1;
      }
    } else runAt = -1;
  }
  // IPv4-mapped addresses keep their dotted quad (RFC 5952 section 5).
  if (bestAt === 0 && bestLen === 5 && buf[o + 10] === 0xff && buf[o + 11] === 0xff) return `::ffff:${v4Text(buf, o + 12)}`;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += buf.readUInt16BE(o + 2 * i).toString(16);
  }
  return s;
}

/**
 * An IPv6 address as text <-> 16 bytes in network order (a struct in6_addr, aligned to 4).
 * Encoding accepts any valid form; decoding gives the canonical one (RFC 5952).
 */
export const ipv6: Codec<string> = {
  size: 16,
  name: 'ipv6',
  align: 4,
  encode(value: string, buf: Buffer, offset: number): void {
    const text = checkV6(value);
    inRange('ipv6', 16, buf, offset);
    writeV6(text, buf, offset);
  },
  decode(buf: Buffer, offset: number): string {
    inRange('ipv6', 16, buf, offset);
    return v6Text(buf, offset);
  },
  toJSON: (value) => value,
  fromJSON: checkV6,
};
