import type { Kernel } from '../kernel/kernel.js';
import type { BpfMap } from '../map/map.js';
import { mapSelectorText, openSelected, selectorSubject, toMapSelector, type MapSelector } from '../map/selector.js';
import { UsageError } from './errors.js';

/** A map named like bpftool names it: `id N`, `pinned PATH` or `name NAME`. */
export type Selector = MapSelector;

/** The selector of the words given: `id N`, `pinned PATH`, `name NAME`, or a path alone (`/sys/fs/bpf/x`: pinned). */
export function parseSelector(kind: string | undefined, value: string | undefined): Selector {
  if (kind?.startsWith('/') && value === undefined) return { kind: 'pinned', path: kind };
  if (kind === undefined) throw new UsageError('no map given: use id N, pinned PATH or name NAME');
  if (value === undefined || value === '') throw new UsageError(`"${kind}" needs a value: id N, pinned PATH or name NAME`);
  const s = toMapSelector(kind, value);
  if (s === 'id') throw new UsageError(`map id must be a positive integer, got "${value}"`);
  if (s === 'kind') throw new UsageError(`unknown map selector "${kind}": use id N, pinned PATH or name NAME`);
  return s;
}

export const selectorText = mapSelectorText;

export const HEX_HELP = 'keys and values as hex, even when the map has BTF';

/**
 * Opens the selected map, typed by its BTF unless raw (or it has none); a failure says which
 * selector it was about.
 */
export function openMap(s: Selector, kernel: Kernel, opts: { readOnly?: boolean; raw?: boolean } = {}): BpfMap<unknown, unknown> {
  try {
    return openSelected(s, { kernel, ...opts });
  } catch (e) {
    if (e instanceof Error) {
      if (!e.message.includes(selectorSubject(s))) e.message = `${selectorText(s)}: ${e.message}`;
      e.message = e.message.replace('see listMaps()', 'see bpfmap list');
    }
    throw e;
  }
}
