import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import type { Btf } from '../../src/btf/btf.js';
import type { BtfType, BtfVoid } from '../../src/btf/types.js';

let found: string | null | undefined;

function locate(): string | null {
  for (const p of ['bpftool', '/usr/sbin/bpftool', '/sbin/bpftool']) {
    try {
      execFileSync(p, ['version'], { stdio: 'ignore' });
      return p;
    } catch {
      // try the next place
    }
  }
  return null;
}

/** bpftool's path; the test is skipped without it, except in CI where .ci/run installs it. */
export function bpftool(t: TestContext): string | null {
  found ??= locate();
  if (found) return found;
  if (process.env.CI === 'true') throw new Error('CI needs bpftool (apt-get install bpftool)');
  t.skip('bpftool is not installed');
  return null;
}

export function runBpftool(path: string, args: string[]): string {
  return execFileSync(path, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
}

const LINKAGE = ['static', 'global', 'extern'];

function q(name: string): string {
  return `'${name || '(anon)'}'`;
}

/** One type as `bpftool btf dump ... format raw` prints it (header line and member lines). */
export function rawLine(btf: Btf, id: number): string {
  const t = btf.types[id] as BtfType | BtfVoid;
  const head = `[${id}] ${t.kind.toUpperCase()} ${q(t.name)}`;
  switch (t.kind) {
    case 'void':
      return '';
    case 'int': {
      const enc = t.signed ? 'SIGNED' : t.char ? 'CHAR' : t.bool ? 'BOOL' : '(none)';
      return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${enc}`;
    }
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return `${head} type_id=${t.type}`;
    case 'array':
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case 'struct':
    case 'union':
      return [`${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map((m) => `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitSize ? ` bitfield_size=${m.bitSize}` : ''}`)].join('\n');
    case 'enum':
      return [`${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${v.value}`)].join('\n');
    case 'enum64':
      return [`${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t${q(v.name)} val=${v.value}${t.signed ? 'LL' : 'ULL'}`)].join('\n');
    case 'fwd':
      return `${head} fwd_kind=${t.union ? 'union' : 'struct'}`;
    case 'func':
      return `${head} type_id=${t.type} linkage=${LINKAGE[t.linkage] ?? t.linkage}`;
    case 'func_proto':
      return [`${head} ret_type_id=${t.returnType} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`)].join('\n');
    case 'var':
      return `${head} type_id=${t.type}, linkage=${LINKAGE[t.linkage] ?? t.linkage}`;
    case 'datasec':
      return [`${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (VAR ${q(btf.types[v.type]?.name ?? '')})`)].join('\n');
    case 'float':
      return `${head} size=${t.size}`;
    case 'decl_tag':
      return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
  }
}
