/** A zeroed, 8-byte aligned buffer for a bpf_attr (fresh ArrayBuffers are malloc-aligned). */
export function allocAttr(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** Writes a NUL-padded object name (BPF_OBJ_NAME_LEN bytes, last one always NUL). */
export function writeObjName(attr: Buffer, offset: number, name: string, len: number): void {
  attr.fill(0, offset, offset + len);
  attr.write(name, offset, len - 1, 'utf8');
}

/** Reads a NUL-terminated name of at most len bytes. */
export function readObjName(buf: Uint8Array, offset: number, len: number): string {
  let end = offset;
  while (end < offset + len && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + offset, end - offset).toString('utf8');
}
