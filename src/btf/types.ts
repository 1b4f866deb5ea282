// BTF's type model (include/uapi/linux/btf.h), one interface per kind. Type ids index
// Btf.types; id 0 is void.

/** BTF_KIND_* numbers. */
export const BTF_KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

export type BtfKindName = keyof typeof BTF_KIND;

/** Names by kind number; index 0 is the unknown kind. */
export const KIND_NAMES: readonly (BtfKindName | 'unknown')[] = [
  'unknown', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

/** BTF_INT_* encoding bits. */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
export const BTF_HEADER_SIZE = 24;

export interface BtfVoid {
  kind: 'void';
  name: '';
}

export interface BtfInt {
  kind: 'int';
  name: string;
  size: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
  /** BTF_INT_OFFSET: bits before the value inside its storage (0 in everything compilers emit). */
  bitOffset: number;
  /** BTF_INT_BITS: the value's width in bits. */
  bits: number;
}

export interface BtfPtr {
  kind: 'ptr';
  name: string;
  type: number;
}

export interface BtfArray {
  kind: 'array';
  name: string;
  type: number;
  indexType: number;
  nelems: number;
}

export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member in bits from the start of the struct. */
  bitOffset: number;
  /** Width of a bitfield member; 0 when the member is not a bitfield. */
  bitSize: number;
}

export interface BtfComposite {
  kind: 'struct' | 'union';
  name: string;
  size: number;
  /** kind_flag: members carry (bitfield size, bit offset) pairs; set when any member is a bitfield. */
  bitfields: boolean;
  members: BtfMember[];
}

export interface BtfEnumValue {
  name: string;
  value: number;
}

export interface BtfEnum {
  kind: 'enum';
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}

export interface BtfEnum64Value {
  name: string;
  value: bigint;
}

export interface BtfEnum64 {
  kind: 'enum64';
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}

export interface BtfFwd {
  kind: 'fwd';
  name: string;
  /** A forward `union` declaration (kind_flag), else `struct`. */
  union: boolean;
}

export interface BtfRef {
  kind: 'typedef' | 'volatile' | 'const' | 'restrict';
  name: string;
  type: number;
}

export interface BtfFunc {
  kind: 'func';
  name: string;
  /** A func_proto. */
  type: number;
  /** 0 static, 1 global, 2 extern. */
  linkage: number;
}

export interface BtfParam {
  name: string;
  /** 0 for the trailing `...` of a variadic function. */
  type: number;
}

export interface BtfFuncProto {
  kind: 'func_proto';
  name: string;
  returnType: number;
  params: BtfParam[];
}

export interface BtfVar {
  kind: 'var';
  name: string;
  type: number;
  /** 0 static, 1 global allocated, 2 extern. */
  linkage: number;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

export interface BtfDatasec {
  kind: 'datasec';
  name: string;
  size: number;
  vars: BtfVarSecinfo[];
}

export interface BtfFloat {
  kind: 'float';
  name: string;
  size: number;
}

export interface BtfDeclTag {
  kind: 'decl_tag';
  name: string;
  type: number;
  /** -1: the tag is on the type itself; else the member or parameter index. */
  componentIdx: number;
  /** kind_flag: the tag is an __attribute__ rather than a btf_decl_tag. */
  attribute: boolean;
}

export interface BtfTypeTag {
  kind: 'type_tag';
  name: string;
  type: number;
  /** kind_flag: the tag is an __attribute__ rather than a btf_type_tag. */
  attribute: boolean;
}

/** Any BTF type but void. */
export type BtfType =
  | BtfInt | BtfPtr | BtfArray | BtfComposite | BtfEnum | BtfEnum64 | BtfFwd | BtfRef | BtfFunc
  | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag | BtfTypeTag;

/** Kinds that only qualify or rename another type. */
export const MODIFIERS: ReadonlySet<string> = new Set(['typedef', 'volatile', 'const', 'restrict', 'type_tag']);
