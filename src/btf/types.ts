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

/** The name of a BTF kind: int, ptr, struct, ... */
export type BtfKindName = keyof typeof BTF_KIND;

/** Names by kind number; index 0 is the unknown kind. */
export const KIND_NAMES: readonly (BtfKindName | 'unknown')[] = [
  'unknown', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

/** BTF_INT_* encoding bits. */
export const BTF_INT_SIGNED = 1;
/** BTF_INT_CHAR: the int is a char. */
export const BTF_INT_CHAR = 2;
/** BTF_INT_BOOL: the int is a _Bool. */
export const BTF_INT_BOOL = 4;

/** BTF's magic number (the first two bytes of a blob). */
export const BTF_MAGIC = 0xeb9f;
/** The BTF version this library reads and writes. */
export const BTF_VERSION = 1;
/** Size of the BTF header in bytes. */
export const BTF_HEADER_SIZE = 24;

/** Type id 0: void. */
export interface BtfVoid {
  kind: 'void';
  name: '';
}

/** BTF_KIND_INT: an integer, bool or char. */
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

/** BTF_KIND_PTR: a pointer to type. */
export interface BtfPtr {
  kind: 'ptr';
  name: string;
  type: number;
}

/** BTF_KIND_ARRAY: nelems elements of type. */
export interface BtfArray {
  kind: 'array';
  name: string;
  type: number;
  indexType: number;
  nelems: number;
}

/** A member of a struct or union. */
export interface BtfMember {
  name: string;
  type: number;
  /** Offset of the member in bits from the start of the struct. */
  bitOffset: number;
  /** Width of a bitfield member; 0 when the member is not a bitfield. */
  bitSize: number;
}

/** BTF_KIND_STRUCT and BTF_KIND_UNION. */
export interface BtfComposite {
  kind: 'struct' | 'union';
  name: string;
  size: number;
  /** kind_flag: members carry (bitfield size, bit offset) pairs; set when any member is a bitfield. */
  bitfields: boolean;
  members: BtfMember[];
}

/** One enumerator of an enum. */
export interface BtfEnumValue {
  name: string;
  value: number;
}

/** BTF_KIND_ENUM: an enum of up to 4 bytes. */
export interface BtfEnum {
  kind: 'enum';
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}

/** One enumerator of an enum64. */
export interface BtfEnum64Value {
  name: string;
  value: bigint;
}

/** BTF_KIND_ENUM64: an enum with 64-bit values. */
export interface BtfEnum64 {
  kind: 'enum64';
  name: string;
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}

/** BTF_KIND_FWD: a forward declaration of a struct or union. */
export interface BtfFwd {
  kind: 'fwd';
  name: string;
  /** A forward `union` declaration (kind_flag), else `struct`. */
  union: boolean;
}

/** A typedef or a qualifier (volatile, const, restrict) of another type. */
export interface BtfRef {
  kind: 'typedef' | 'volatile' | 'const' | 'restrict';
  name: string;
  type: number;
}

/** BTF_KIND_FUNC: a function (its type is a func_proto). */
export interface BtfFunc {
  kind: 'func';
  name: string;
  /** A func_proto. */
  type: number;
  /** 0 static, 1 global, 2 extern. */
  linkage: number;
}

/** A parameter of a func_proto. */
export interface BtfParam {
  name: string;
  /** 0 for the trailing `...` of a variadic function. */
  type: number;
}

/** BTF_KIND_FUNC_PROTO: a function signature. */
export interface BtfFuncProto {
  kind: 'func_proto';
  name: string;
  returnType: number;
  params: BtfParam[];
}

/** BTF_KIND_VAR: a global variable. */
export interface BtfVar {
  kind: 'var';
  name: string;
  type: number;
  /** 0 static, 1 global allocated, 2 extern. */
  linkage: number;
}

/** Where a variable sits in its datasec. */
export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** BTF_KIND_DATASEC: a section (.data, .bss, .rodata) and the variables it holds. */
export interface BtfDatasec {
  kind: 'datasec';
  name: string;
  size: number;
  vars: BtfVarSecinfo[];
}

/** BTF_KIND_FLOAT: a floating-point type of size bytes. */
export interface BtfFloat {
  kind: 'float';
  name: string;
  size: number;
}

/** BTF_KIND_DECL_TAG: a btf_decl_tag on a declaration or one of its members. */
export interface BtfDeclTag {
  kind: 'decl_tag';
  name: string;
  type: number;
  /** -1: the tag is on the type itself; else the member or parameter index. */
  componentIdx: number;
  /** kind_flag: the tag is an __attribute__ rather than a btf_decl_tag. */
  attribute: boolean;
}

/** BTF_KIND_TYPE_TAG: a btf_type_tag on the type it points at. */
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
