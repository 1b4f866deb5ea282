import type { Kernel } from '../kernel/kernel.js';
import { BpfMap, type RawValue } from './map.js';

/** A map named like bpftool names it: `id N`, `pinned PATH` or `name NAME` (the CLI's and the exporter's). */
export type MapSelector = { kind: 'id'; id: number } | { kind: 'pinned'; path: string } | { kind: 'name'; name: string };

/**
 * Why two words are not a selector: the first is not id, pinned or name, or the id is not a
 * kernel map id (a u32 above 0). Each caller words it for its users.
 */
export type SelectorProblem = 'kind' | 'id';

/** The selector the words `kind value` name, or its problem. */
export function toMapSelector(kind: string, value: string): MapSelector | SelectorProblem {
  switch (kind) {
    case 'id': {
      const id = /^[0-9]+$/.test(value) ? Number(value) : NaN;
      return Number.isSafeInteger(id) && id > 0 && id <= 0xffffffff ? { kind: 'id', id } : 'id';
    }
    case 'pinned':
      return { kind: 'pinned', path: value };
    case 'name':
      return { kind: 'name', name: value };
    default:
      return 'kind';
  }
}

/** The selector's text, as it is parsed. */
export function mapSelectorText(s: MapSelector): string {
  return s.kind === 'id' ? `id ${s.id}` : s.kind === 'pinned' ? `pinned ${s.path}` : `name ${s.name}`;
}

/** The selector as an open error names the map: an id, a path, or a quoted name. */
export function selectorSubject(s: MapSelector): string {
  return s.kind === 'id' ? `id ${s.id}` : s.kind === 'pinned' ? s.path : `"${s.name}"`;
}

export interface SelectorOpenOptions {
  kernel: Kernel;
  /** Keys and values as bytes, even when the map has BTF. */
  raw?: boolean;
  /** A pinned map opened read-only (BPF_F_RDONLY). */
  readOnly?: boolean;
}

/** Opens the map the selector names now, typed by its BTF unless raw (or it has none). */
export function openSelected(s: MapSelector, opts: SelectorOpenOptions & { raw: true }): BpfMap<Buffer, RawValue>;
export function openSelected(s: MapSelector, opts: SelectorOpenOptions): BpfMap<unknown, unknown>;
export function openSelected(s: MapSelector, opts: SelectorOpenOptions): BpfMap<unknown, unknown> {
  const { kernel } = opts;
  const raw = opts.raw ?? false;
  switch (s.kind) {
    case 'id':
      return BpfMap.fromId(s.id, { kernel, raw });
    case 'pinned':
      return BpfMap.openPinned(s.path, { kernel, raw, readOnly: opts.readOnly ?? false });
    case 'name':
      return BpfMap.fromName(s.name, { kernel, raw });
  }
}
