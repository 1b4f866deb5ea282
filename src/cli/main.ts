#!/usr/bin/env node
import { listMaps } from '../map/map.js';

function main(argv: string[]): number {
  const [cmd] = argv;
  if (cmd === 'list') {
    for (const m of listMaps())
      console.log(`${m.id}: ${m.typeName}  name ${m.name || '-'}  key ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}  flags ${m.flagNames.join(',') || '0'}`);
    return 0;
  }
  console.error('usage: bpfmap list');
  return 2;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`bpfmap: ${(e as Error).message}`);
  process.exitCode = 1;
}
