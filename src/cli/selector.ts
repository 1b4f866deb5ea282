import type { Kernel } from '../kernel/kernel.js';
import { BpfMap } from '../map/map.js';
import { UsageError } from './errors.js';

/** A map named like bpftool names it: `id N`, `pinned PATH` or `name NAME`. */
export type Selector = { kind: 'id'; id: number } | { kind: 'pinned'; path: string } | { kind: 'name'; name: string };

export const SELECTOR_HELP = 'the map: id N | pinned PATH | name NAME';

export function parseSelector(kind: string | undefined, value: string | undefined): Selector {
  if (kind === undefined) throw new UsageError('no map given: use id N, pinned PATH or name NAME');
  if (value === undefined || value === '') throw new UsageError(`"${kind}" needs a value: id N, pinned PATH or name NAME`);
  switch (kind) {
    case 'id': {
      const id = /^[0-9]+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(id) || id <= 0 || id > 0xffffffff) throw new UsageError(`map id must be a positive integer, got "${value}"`);
      return { kind: 'id', id };
    }
    case 'pinned':
      return { kind: 'pinned', path: value };
    case 'name':
      return { kind: 'name', name: value };
    default:
      throw new UsageError(`unknown map selector "${kind}": use id N, pinned PATH or name NAME`);
  }
}

export function selectorText(s: Selector): string {
  return s.kind === 'id' ? `id ${s.id}` : s.kind === 'pinned' ? `pinned ${s.path}` : `name ${s.name}`;
}

export const HEX_HELP = 'keys and values as hex, even when the map has BTF';

/**
 * Opens the selected map, typed by its BTF unless raw (or it has none); a failure says which
 * selector it was about.
 */
export function openMap(s: Selector, kernel: Kernel, opts: { readOnly?: boolean; raw?: boolean } = {}): BpfMap<unknown, unknown> {
  const raw = opts.raw ?? false;
  try {
    switch (s.kind) {
      case 'id':
        return BpfMap.fromId(s.id, { kernel, raw });
      case 'pinned':
        return BpfMap.openPinned(s.path, { kernel, raw, readOnly: opts.readOnly ?? false });
      case 'name':
        return BpfMap.fromName(s.name, { kernel, raw });
    }
  } catch (e) {
    const what = s.kind === 'id' ? `id ${s.id}` : s.kind === 'pinned' ? s.path : `"${s.name}"`;
    if (e instanceof Error) {
      if (!e.message.includes(what)) e.message = `${selectorText(s)}: ${e.message}`;
      e.message = e.message.replace('see listMaps()', 'see bpfmap list');
    }
    throw e;
  }
}
