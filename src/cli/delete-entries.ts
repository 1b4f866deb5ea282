import type { Command } from 'commander';
import { BpfError } from '../kernel/error.js';
import { walkChunks, resolveMode } from '../map/walk.js';
import { CLI_BATCH } from './defaults.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { UsageError } from './errors.js';
import { InputError, inputStream, maxLineFor, packEntries, readEntries, type InputEntry } from './input.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { HEX_HELP, openMap, parseSelector, selectorText } from './selector.js';
import { viewOf } from './view.js';

async function* given(keys: string[]): AsyncGenerator<InputEntry, void, void> {
  for (const [i, k] of keys.entries()) {
    let json: unknown;
    try {
      json = JSON.parse(k);
    } catch {
      json = k; // a bare hex key
    }
    yield { where: `--key ${i + 1}`, json: { key: json } };
  }
}

export function deleteEntriesCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('delete-entries', 'delete entries with DELETE_BATCH: the keys given, the keys of entries read from stdin, or all', [
    'bpfmap delete-entries id 42 --key 0a000001 --key 0a000002',
    "bpfmap dump id 42 --format ndjson | jq -c 'select(.value == \"0000000000000000\")' | bpfmap delete-entries id 42",
    'bpfmap delete-entries pinned /sys/fs/bpf/flows --all',
  ])))
    .option('--key <key>', 'a key to delete, as dump prints it (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--all', 'delete every entry (read in batches, deleted in batches)')
    .option('--file <path>', 'read entries (as dump prints them; values are ignored) from this file instead of stdin')
    .option('--batch <n>', 'keys per DELETE_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .action(async (by: string, which: string, o: { key: string[]; all?: boolean; file?: string; batch: number; hex?: boolean; kernel?: string }) => {
      const sel = parseSelector(by, which);
      if (o.all && (o.key.length > 0 || o.file !== undefined)) throw new UsageError('--all deletes everything: give no --key or --file with it');
      const input = o.all || o.key.length > 0 ? undefined : inputStream(o.file, 'delete-entries', io.stdin);
      using map = openMap(sel, kernelFrom(o.kernel, io), { raw: o.hex === true });
      let deleted = 0;
      try {
        if (o.all) {
          // Deleting what a hash walk has passed does not move its bucket cursor.
          const opts = { batchSize: o.batch };
          for (const c of walkChunks(map, resolveMode(map, opts), opts)) deleted += map.deleteBatch({ keys: c.keys.subarray(0, c.count * map.keySize) }, { chunkSize: o.batch });
        } else {
          const view = viewOf(map, 'each', o.hex === true);
          const packed = await packEntries(input ? readEntries(input, maxLineFor(map.keySize, map.valueBytes)) : given(o.key), view, map.keySize, map.valueBytes, false);
          deleted = map.deleteBatch({ keys: packed.keys }, { chunkSize: o.batch });
        }
      } catch (e) {
        if (e instanceof InputError) e.message += '; nothing was deleted';
        else if (e instanceof BpfError) e.message += `; ${deleted + (e.applied ?? 0)} entries were deleted before the failure`;
        throw e;
      }
      io.stdout.write(`deleted ${deleted} entries from ${selectorText(sel)}\n`);
    });
}
