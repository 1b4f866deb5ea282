/** Malformed BTF, or a BTF type that cannot serve the purpose it was asked for. */
export class BtfError extends Error {
  override readonly name = 'BtfError';
  readonly code = 'ERR_BPFMAP_BTF';
  /** The type the problem is about, when there is one. */
  readonly typeId: number | undefined;

  constructor(message: string, typeId?: number) {
    super(typeId === undefined ? message : `BTF type [${typeId}]: ${message}`);
    this.typeId = typeId;
  }
}
