import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDecode } from '../../src/cli/decode.js';
import { flowKey, flowStats } from '../../src/cli/demo.js';
import { BpfMap } from '../../src/map/map.js';
import { runMain } from '../helpers/cli.js';
import { LINUX, linuxAvailable } from '../helpers/kernel.js';

describe('--decode', () => {
  test('parses fields, value maps with their own commas, none; refuses unknown decoders', () => {
    assert.deepEqual(parseDecode(['saddr=ipv4,sport=port', 'proto={6:tcp,17:udp}', 'none']), {
      defaults: false,
      fields: [
        ['saddr', 'ipv4'],
        ['sport', 'port'],
        ['proto', { values: { 6: 'tcp', 17: 'udp' } }],
      ],
    });
    assert.deepEqual(parseDecode(undefined), { defaults: true, fields: [] });
    assert.throws(() => parseDecode(['saddr=ipv5']), /unknown decoder "ipv5" \(decoders: ipv4, ipv6, port, hex, string, integer/);
    assert.throws(() => parseDecode(['saddr']), /FIELD=DECODER/);
    assert.throws(() => parseDecode(['proto={6=tcp}']), /a value map is \{NUMBER:NAME,...\}/);
  });

  test('dump and drain show fields through decoders; load reads them back; bad fields are usage errors', async (t) => {
    if (!linuxAvailable(t)) return;
    const kernel = LINUX.kernel();
    using map = BpfMap.create({ kernel, type: 'hash', key: flowKey, value: flowStats, maxEntries: 8, btf: true });
    map.set({ saddr: '10.1.54.15', daddr: '192.168.27.254', sport: 61163, dport: 53, proto: 17 }, { packets: 3n, bytes: 300n });
    const id = String(map.id);
    const dump = async (...args: string[]): Promise<unknown> => {
      const r = await runMain(['dump', 'id', id, '--format', 'ndjson', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    assert.deepEqual(await dump(), {
      key: { saddr: '10.1.54.15', daddr: '192.168.27.254', sport: 61163, dport: 53, proto: 17 },
      value: { packets: 3, bytes: 300 },
    });
    assert.deepEqual(await dump('--decode', 'none'), {
      key: { saddr: 0x0a01360f, daddr: 0xc0a81bfe, sport: 61163, dport: 53, proto: 17 },
      value: { packets: 3, bytes: 300 },
    });
    const custom = await dump('--decode', 'key.saddr=hex,proto={6:tcp,17:udp}', '--decode', 'daddr=integer,bytes=hex');
    assert.deepEqual(custom, {
      key: { saddr: '0a01360f', daddr: 0xc0a81bfe, sport: 61163, dport: 53, proto: 'udp' },
      value: { packets: 3, bytes: '2c01000000000000' },
    });
    // What dump printed with --decode loads back with the same --decode.
    const before = map.dump();
    map.drain();
    const loaded = await runMain(['load', 'id', id, '--decode', 'key.saddr=hex,proto={6:tcp,17:udp},daddr=integer,bytes=hex'], {
      input: `${JSON.stringify(custom)}\n`,
    });
    assert.equal(loaded.code, 0, loaded.stderr);
    const after = map.dump();
    assert.deepEqual([after.keys, after.values], [before.keys, before.values]);
    const table = await runMain(['drain', 'id', id, '--format', 'table', '--decode', 'proto={17:udp}']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /key\.saddr +key\.daddr +key\.sport +key\.dport +key\.proto/);
    assert.match(table.stdout, /10\.1\.54\.15 +192\.168\.27\.254 +61163 +53 +udp/);
    assert.equal(map.dump().count, 0);
    for (const [args, msg] of [
      [
        ['--decode', 'nope=hex'],
        /--decode nope: no such field \(key: struct flow has no field "nope" \(fields: saddr, daddr, sport, dport, proto\); value: struct flow_stats has no field/,
      ],
      [['--decode', 'sport=ipv4'], /--decode: the ipv4 decoder reads 4 bytes, "sport" \(__be16\) has 2/],
      [['--decode', 'saddr=ipv4', '--hex'], /--decode shows fields of the BTF types, --hex the bytes/],
    ] as const) {
      const r = await runMain(['dump', 'id', id, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
  });
});
