import type { Command } from 'commander';
import { BpfError } from '../kernel/error.js';
import { CLI_BATCH } from './defaults.js';
import { integer, newCommand, withKernel, withMapArgs } from './command.js';
import { InputError, inputStream, maxLineFor, packEntries, readEntries } from './input.js';
import type { CliIo } from './io.js';
import { kernelFrom } from './kernel-option.js';
import { HEX_HELP, openMap, parseSelector, selectorText } from './selector.js';
import { viewOf } from './view.js';
import { collect, parseDecode } from './decode.js';

export function loadCommand(io: CliIo): Command {
  return withKernel(withMapArgs(newCommand('load', 'write entries (ndjson or JSON, as dump prints them) with UPDATE_BATCH', [
    'bpfmap dump pinned /sys/fs/bpf/flows > flows.ndjson && bpfmap load pinned /sys/fs/bpf/flows < flows.ndjson',
    'bpfmap dump id 42 --format json | bpfmap load id 43',
    'echo \'{"key":"0a000001","value":"0100000000000000"}\' | bpfmap load name flows',
  ])))
    .option('--file <path>', 'read the entries from this file instead of stdin')
    .option('--batch <n>', 'entries per UPDATE_BATCH syscall', integer(1), CLI_BATCH)
    .option('--hex', HEX_HELP)
    .option('--zero-fill-values', 'write the value fields an entry leaves out as 0 (keys must always give every field)')
    .option('--decode <fields>', 'the --decode the dump was made with (addresses and ports as dump shows them by default load as they are)', collect)
    .addHelpText('after', `\nThe whole input is checked before the first write: bad input (bad JSON, a key of the wrong size,\nan unknown field, a field left out) writes nothing. Typed keys and values must give every field of\ntheir type (a key left short would be another key); --zero-fill-values writes missing value fields as 0.\nA kernel error part-way says how many entries were applied.\nPer-CPU maps take "values" (one per CPU, as dump prints by default) or a summed "value", written to CPU 0.\n`)
    .action(async (by: string, which: string, o: { file?: string; batch: number; hex?: boolean; zeroFillValues?: boolean; decode?: string[]; kernel?: string }) => {
      const sel = parseSelector(by, which);
      const input = inputStream(o.file, 'load', io.stdin);
      using map = openMap(sel, kernelFrom(o.kernel, io), { raw: o.hex === true });
      const view = viewOf(map, 'each', o.hex === true, parseDecode(o.decode), { zeroFillValues: o.zeroFillValues === true });
      let packed;
      try {
        packed = await packEntries(readEntries(input, maxLineFor(map.keySize, map.valueBytes)), view, map.keySize, map.valueBytes, true);
      } catch (e) {
        if (e instanceof InputError) e.message += '; nothing was written (0 entries applied)';
        throw e;
      }
      try {
        map.updateBatch({ keys: packed.keys, values: packed.values }, { chunkSize: o.batch });
      } catch (e) {
        if (e instanceof BpfError) e.message += `; ${e.applied ?? 0} of ${packed.count} entries were applied`;
        throw e;
      }
      io.stdout.write(`loaded ${packed.count} entries into ${selectorText(sel)}\n`);
    });
}
