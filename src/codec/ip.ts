import { type Codec, CodecError, show } from './codec.js';

function inRange(name: string, size: number, buf: Buffer, offset: number): void {
  if (offset < 0 || offset + size > buf.length) throw new RangeError(`${name}: offset ${offset} is outside a buffer of ${buf.length} bytes`);
}

function v4Text(buf: Buffer, o: number): string {
  return `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
}

/**
 * Parses dotted-quad text from start to end into the 32-bit address, or -1 when it is not one:
 * four decimal parts 0..255 without leading zeros (as inet_pton). By hand, as the hot path.
 */
function parseV4(text: string, start: number, end: number): number {
  let addr = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      addr = addr * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return addr * 256 + part;
}

function v4Error(v: unknown): CodecError {
  return new CodecError('ipv4', `expected an IPv4 address like "10.0.0.1", got ${show(v)}`);
}

function checkV4(v: unknown): string {
  if (typeof v !== 'string' || parseV4(v, 0, v.length) < 0) throw v4Error(v);
  return v;
}

/** An IPv4 address as text ("10.0.0.1") <-> 4 bytes in network order (a __be32, aligned to 4). */
export const ipv4: Codec<string> = {
  size: 4,
  name: 'ipv4',
  align: 4,
  encode(value: string, buf: Buffer, offset: number): void {
    const addr = typeof value === 'string' ? parseV4(value, 0, value.length) : -1;
    if (addr < 0) throw v4Error(value);
    buf.writeUInt32BE(addr, offset);
  },
  decode(buf: Buffer, offset: number): string {
    inRange('ipv4', 4, buf, offset);
    return v4Text(buf, offset);
  },
  toJSON: (value) => value,
  fromJSON: checkV4,
};

// Parsed groups land here first, so nothing is written unless the whole text is valid.
const groups = new Uint16Array(8);

/**
 * Parses any valid IPv6 text form (hex groups, one "::", an embedded dotted quad at the end)
 * into groups; false when it is not one (as inet_pton, which also refuses zones like "%eth0").
 * By hand, as the hot path.
 */
function parseV6(text: string): boolean {
  const len = text.length;
  let n = 0; // groups so far
  let gap = -1; // group index where "::" stands
  let i = 0;
  if (len >= 2 && text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === len) return fill(n, gap);
  }
  for (;;) {
    const from = i;
    let g = 0;
    while (i < len && i - from < 5) {
      const c = text.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      g = g * 16 + d;
      i++;
    }
    if (i < len && text.charCodeAt(i) === 46) {
      // The rest is a dotted quad, worth two groups.
      if (n > 6) return false;
      const v4 = parseV4(text, from, len);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      return fill(n, gap);
    }
    if (i === from || i - from > 4 || n === 8) return false;
    groups[n++] = g;
    if (i === len) return fill(n, gap);
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < len && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === len) return fill(n, gap);
    } else if (i === len) return false;
  }
}

/** Moves the groups after "::" to the end and zeroes the gap; false when the count is wrong. */
function fill(n: number, gap: number): boolean {
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  const tail = n - gap;
  groups.copyWithin(8 - tail, gap, n);
  groups.fill(0, gap, 8 - tail);
  return true;
}

function v6Error(v: unknown): CodecError {
  return new CodecError('ipv6', `expected an IPv6 address like "2001:db8::1", got ${show(v)}`);
}

function checkV6(v: unknown): string {
  if (typeof v !== 'string' || !parseV6(v)) throw v6Error(v);
  return v;
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
  let sep = ''; // no ":" at the start or right after "::"
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      s += '::';
      sep = '';
      i += bestLen - 1;
      continue;
    }
    s += sep + ((buf[o + 2 * i] as number) * 256 + (buf[o + 2 * i + 1] as number)).toString(16);
    sep = ':';
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
    if (typeof value !== 'string' || !parseV6(value)) throw v6Error(value);
    inRange('ipv6', 16, buf, offset);
    for (let i = 0; i < 8; i++) buf.writeUInt16BE(groups[i] as number, offset + 2 * i);
  },
  decode(buf: Buffer, offset: number): string {
    inRange('ipv6', 16, buf, offset);
    return v6Text(buf, offset);
  },
  toJSON: (value) => value,
  fromJSON: checkV6,
};
