import { runC } from './cc.js';

export interface CLayout {
  size: number;
  align: number;
  offsets: Record<string, number>;
}

/**
 * sizeof, _Alignof and offsetof of C types as the system compiler lays them out. decls holds
 * the C definitions; types maps each type to print (e.g. "struct flow") to its member names.
 */
export function cLayouts(decls: string, types: Record<string, string[]>): Record<string, CLayout> {
  const prints = Object.entries(types).map(([type, members]) => {
    const offs = members.map((m) => `printf(" %zu", offsetof(${type}, ${m}));`).join(' ');
    return `printf("%zu %zu", sizeof(${type}), _Alignof(${type})); ${offs} puts("");`;
  });
  const src = `#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <netinet/in.h>\n${decls}\nint main(void) {\n${prints.join('\n')}\nreturn 0;\n}\n`;
  const lines = runC(src).trimEnd().split('\n');
  const out: Record<string, CLayout> = {};
  Object.entries(types).forEach(([type, members], i) => {
    const [size, align, ...offs] = (lines[i] as string).split(' ').map(Number);
    out[type] = { size: size as number, align: align as number, offsets: Object.fromEntries(members.map((m, j) => [m, offs[j] as number])) };
  });
  return out;
}
