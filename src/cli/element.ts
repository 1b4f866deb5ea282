import type { Command } from 'commander';
import type { Kernel } from '../kernel/kernel.js';
import { internal } from '../map/internal.js';
import type { BpfMap } from '../map/map.js';
import { BPF_ANY, BPF_EXIST, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_NOEXIST } from '../sys/constants.js';
import { newCommand, withKernel, withMapArgs } from './command.js';
import { PERCPU_HELP } from './defaults.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { HEX_HELP, openMap, parseSelector, selectorText, type Selector } from './selector.js';
import { hexView, perCpuModeOf, viewOf, type EntryView } from './view.js';

// The single-element commands bpftool users reach for: lookup, update, delete, getnext, freeze,
// and push, pop and peek on queues and stacks. Keys and values are given and printed as dump and
// load write them (JSON, decoded by the map's BTF where it has one), or as hex bytes.

const KEY_HELP = 'the key: JSON as dump prints it (decoded by the map\'s BTF), or hex bytes ("0a000001", "0x0a 0x00 0x00 0x01")';
const VALUE_HELP = 'the value, like --key; per-CPU maps: every CPU gets it (as bpftool does)';
const VALUES_HELP = 'per-CPU maps: a JSON list of one value per possible CPU';

interface ElementOptions {
  key?: string;
  value?: string;
  values?: string;
  hex?: boolean;
  percpu?: string;
  kernel?: string;
}

/** The map a command works on, and how its keys and values read and print. */
interface Target {
  map: BpfMap<unknown, unknown>;
  sel: Selector;
  view: EntryView;
  /** Hex bytes, for arguments that are not JSON (and every argument with --hex or without BTF). */
  hex: EntryView;
}

function open(io: CliIo, by: string, which: string | undefined, o: ElementOptions, readOnly: boolean): Target {
  const sel = parseSelector(by, which);
  const perCpu = perCpuModeOf(o.percpu, 'each');
  const map = openMap(sel, kernelFrom(o.kernel, io), { readOnly, raw: o.hex === true });
  const view = viewOf(map, perCpu, o.hex === true);
  return { map, sel, view, hex: view.plainHex === undefined ? hexView(map, perCpu) : view };
}

const BYTE = /^(?:0x)?[0-9a-fA-F]{1,2}$/;

/**
 * An argument as the view parses it: JSON, else hex bytes (one string, or bpftool's bytes one by
 * one). A map shown as hex takes hex only, so `--key 10000000` is 4 bytes, not a number.
 */
function parseArg(t: Target, text: string, fill: (view: EntryView, json: unknown) => void): void {
  const words = text.trim().split(/\s+/);
  const hex = words.length > 1 && words.every((w) => BYTE.test(w)) ? words : text;
  if (t.view !== t.hex) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      fill(t.hex, hex);
      return;
    }
    fill(t.view, json);
    return;
  }
  fill(t.hex, hex);
}

function keyOf(t: Target, text: string | undefined): Buffer {
  if (text === undefined) throw new UsageError('--key is required');
  const out = Buffer.alloc(t.map.keySize);
  try {
    parseArg(t, text, (view, json) => view.parseKey(json, out, 0));
  } catch (e) {
    throw new UsageError(`--key ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
  return out;
}

/** The value bytes of --value (per-CPU maps: copied to every CPU) or --values (one per CPU). */
function valueOf(t: Target, o: ElementOptions): Buffer {
  const { map } = t;
  const out = Buffer.alloc(map.valueBytes);
  if ((o.value === undefined) === (o.values === undefined))
    throw new UsageError(map.perCpu ? 'give --value (every CPU) or --values (one per CPU)' : '--value is required');
  if (o.values !== undefined && !map.perCpu)
    throw new UsageError(`--values (one per CPU) is for per-CPU maps; this map is ${map.typeName}: use --value`);
  const text = (o.value ?? o.values) as string;
  const option = o.value !== undefined ? '--value' : '--values';
  try {
    if (o.values !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new Error(`not JSON: ${(e as Error).message}`);
      }
      t.view.parseValue(json, 'values', out, 0);
    } else {
      parseArg(t, text, (view, json) => view.parseValue(json, 'value', out, 0));
      const stride = map.valueBytes / map.cpus;
      for (let c = 1; map.perCpu && c < map.cpus; c++) out.copy(out, c * stride, 0, map.valueSize);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${option} ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text)}: ${(e as Error).message}`);
  }
  return out;
}

/** A kernel call on the map, its errors naming the map. */
function call<T>(map: BpfMap<unknown, unknown>, fn: (kernel: Kernel, fd: number) => T): T {
  try {
    return fn(map.kernel, map.fd);
  } catch (e) {
    throw map[internal].annotate(e);
  }
}

function entryLine(t: Target, key: Buffer | null, value: Buffer | null): string {
  const parts: string[] = [];
  if (key) parts.push(`"key":${t.view.keyText(key, 0)}`);
  if (value) parts.push(`"${t.view.valueField}":${t.view.valueText(value, 0)}`);
  return `{${parts.join(',')}}\n`;
}

function requireQueue(t: Target, command: string): void {
  if (t.map.type !== BPF_MAP_TYPE_QUEUE && t.map.type !== BPF_MAP_TYPE_STACK)
    throw new UsageError(
      `${command} is for queue and stack maps; ${selectorText(t.sel)} is ${t.map.typeName} (see lookup, update, delete)`,
    );
}

function requireKeyed(t: Target, command: string): void {
  if (t.map.type === BPF_MAP_TYPE_QUEUE || t.map.type === BPF_MAP_TYPE_STACK)
    throw new UsageError(
      `${selectorText(t.sel)} is a ${t.map.typeName}, whose elements have no keys: use push, pop or peek, not ${command}`,
    );
}

function element(name: string, summary: string, examples: string[]): Command {
  return withKernel(withMapArgs(newCommand(name, summary, examples)));
}

export function lookupCommand(io: CliIo): Command {
  return element('lookup', 'print one entry, by its key (LOOKUP_ELEM): one JSON line, as dump prints entries', [
    'bpfmap lookup id 42 --key 0a000001',
    'bpfmap lookup pinned /sys/fs/bpf/flows --key \'{"saddr":"10.0.0.1","daddr":"10.0.0.2","sport":1234,"dport":443,"proto":6}\'',
    'bpfmap lookup /sys/fs/bpf/counts --key 7',
  ])
    .option('--key <key>', KEY_HELP)
    .option('--hex', HEX_HELP)
    .option('--percpu <mode>', `${PERCPU_HELP}; default each`)
    .action((by: string, which: string | undefined, o: ElementOptions) => {
      const t = open(io, by, which, o, true);
      using _ = t.map;
      requireKeyed(t, 'lookup');
      const key = keyOf(t, o.key);
      const value = Buffer.alloc(t.map.valueBytes);
      if (!call(t.map, (k, fd) => k.lookup(fd, key, value, 0)))
        throw new Error(`${selectorText(t.sel)}: no entry has the key ${t.view.keyText(key, 0)}`);
      io.stdout.write(entryLine(t, key, value));
    });
}

const UPDATE_FLAGS: Record<string, number> = { any: BPF_ANY, noexist: BPF_NOEXIST, exist: BPF_EXIST };

export function updateCommand(io: CliIo): Command {
  return element('update', 'write one entry (UPDATE_ELEM): create it or replace its value', [
    'bpfmap update id 42 --key 0a000001 --value 0100000000000000',
    'bpfmap update pinned /sys/fs/bpf/counts --key 7 --value \'{"packets":1,"bytes":64}\' --flag noexist',
    "bpfmap update /sys/fs/bpf/percpu --key 0 --values '[1, 2]'",
  ])
    .option('--key <key>', KEY_HELP)
    .option('--value <value>', VALUE_HELP)
    .option('--values <json>', VALUES_HELP)
    .option('--flag <flag>', 'any (create or replace) | noexist (create only) | exist (replace only)', 'any')
    .option('--hex', HEX_HELP)
    .action((by: string, which: string | undefined, o: ElementOptions & { flag: string }) => {
      const flag = UPDATE_FLAGS[o.flag];
      if (flag === undefined) throw new UsageError(`--flag must be any, noexist or exist, got "${o.flag}"`);
      const t = open(io, by, which, o, false);
      using _ = t.map;
      requireKeyed(t, 'update');
      const key = keyOf(t, o.key);
      const value = valueOf(t, o);
      call(t.map, (k, fd) => k.update(fd, key, value, flag));
      io.stdout.write(`updated ${selectorText(t.sel)}: ${entryLine(t, key, value)}`);
    });
}

export function deleteCommand(io: CliIo): Command {
  return element('delete', 'delete one entry, by its key (DELETE_ELEM)', [
    'bpfmap delete id 42 --key 0a000001',
    'bpfmap delete /sys/fs/bpf/counts --key 7',
  ])
    .option('--key <key>', KEY_HELP)
    .option('--hex', HEX_HELP)
    .action((by: string, which: string | undefined, o: ElementOptions) => {
      const t = open(io, by, which, o, false);
      using _ = t.map;
      requireKeyed(t, 'delete');
      const key = keyOf(t, o.key);
      if (!call(t.map, (k, fd) => k.delete(fd, key)))
        throw new Error(`${selectorText(t.sel)}: no entry has the key ${t.view.keyText(key, 0)}`);
      io.stdout.write(`deleted the key ${t.view.keyText(key, 0)} from ${selectorText(t.sel)}\n`);
    });
}

export function getnextCommand(io: CliIo): Command {
  return element('getnext', "print the key after --key in the kernel's order, or the first key without it (GET_NEXT_KEY)", [
    'bpfmap getnext id 42',
    'bpfmap getnext id 42 --key 0a000001',
  ])
    .option('--key <key>', `${KEY_HELP}; none: the first key`)
    .option('--hex', HEX_HELP)
    .action((by: string, which: string | undefined, o: ElementOptions) => {
      const t = open(io, by, which, o, true);
      using _ = t.map;
      requireKeyed(t, 'getnext');
      const key = o.key === undefined ? null : keyOf(t, o.key);
      const next = Buffer.alloc(t.map.keySize);
      if (!call(t.map, (k, fd) => k.nextKey(fd, key, next)))
        throw new Error(`${selectorText(t.sel)}: ${key ? `no key after ${t.view.keyText(key, 0)} (it is the last)` : 'the map is empty'}`);
      io.stdout.write(`{${key ? `"key":${t.view.keyText(key, 0)},` : ''}"next_key":${t.view.keyText(next, 0)}}\n`);
    });
}

export function freezeCommand(io: CliIo): Command {
  return element('freeze', 'make a map read-only to userspace for good (FREEZE); BPF programs may still write it', [
    'bpfmap freeze pinned /sys/fs/bpf/config',
  ]).action((by: string, which: string | undefined, o: ElementOptions) => {
    const sel = parseSelector(by, which);
    using map = openMap(sel, kernelFrom(o.kernel, io), { raw: true });
    map.freeze();
    io.stdout.write(`froze ${selectorText(sel)} (map id ${map.id}): userspace can no longer write it\n`);
  });
}

export function pushCommand(io: CliIo): Command {
  return element('push', 'add a value to a queue or stack (UPDATE_ELEM without a key)', [
    'bpfmap push pinned /sys/fs/bpf/jobs --value 2a000000',
    'bpfmap push /sys/fs/bpf/jobs --value 7 --overwrite',
  ])
    .option('--value <value>', 'the value, like --key of lookup: JSON (by BTF) or hex bytes')
    .option('--overwrite', 'when full, drop the oldest value instead of failing (BPF_EXIST)')
    .option('--hex', HEX_HELP)
    .action((by: string, which: string | undefined, o: ElementOptions & { overwrite?: boolean }) => {
      const t = open(io, by, which, o, false);
      using _ = t.map;
      requireQueue(t, 'push');
      const value = valueOf(t, o);
      call(t.map, (k, fd) => k.update(fd, null, value, o.overwrite ? BPF_EXIST : BPF_ANY));
      io.stdout.write(`pushed onto ${selectorText(t.sel)}: ${entryLine(t, null, value)}`);
    });
}

function takeCommand(io: CliIo, name: 'pop' | 'peek'): Command {
  const pop = name === 'pop';
  return element(
    name,
    pop
      ? 'remove and print the next value of a queue or stack (LOOKUP_AND_DELETE_ELEM)'
      : 'print the next value of a queue or stack, leaving it there (LOOKUP_ELEM)',
    [`bpfmap ${name} pinned /sys/fs/bpf/jobs`],
  )
    .option('--hex', HEX_HELP)
    .action((by: string, which: string | undefined, o: ElementOptions) => {
      const t = open(io, by, which, o, !pop);
      using _ = t.map;
      requireQueue(t, name);
      const value = Buffer.alloc(t.map.valueBytes);
      const found = call(t.map, (k, fd) => (pop ? k.lookupAndDelete(fd, null, value, 0) : k.lookup(fd, null, value, 0)));
      if (!found) throw new Error(`${selectorText(t.sel)}: the ${t.map.typeName} is empty`);
      io.stdout.write(entryLine(t, null, value));
    });
}

export function popCommand(io: CliIo): Command {
  return takeCommand(io, 'pop');
}

export function peekCommand(io: CliIo): Command {
  return takeCommand(io, 'peek');
}
