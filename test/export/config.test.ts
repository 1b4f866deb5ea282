import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_BATCH_SIZE, DEFAULT_MAX_SERIES, parseConfig } from '../../src/export/config.js';

function problems(text: string): string[] {
  try {
    parseConfig(text, 'c.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems;
  }
  assert.fail('the config was accepted');
}

test('a full config parses, with defaults', () => {
  const c = parseConfig(`
batch_size: 512
metrics:
  - name: flow_bytes_total
    help: Bytes.
    type: counter
    map: pinned /sys/fs/bpf/flows
    percpu: cpu
    max_series: 100
    labels:
      - { name: saddr, field: key.saddr, decoder: ipv4 }
      - { name: dport, offset: 10, decoder: port }
      - { name: proto, offset: 12, size: 1, decoder: static, values: { 6: tcp, 17: udp } }
    value: { field: bytes }
  - name: lat_seconds
    help: Latency.
    type: histogram
    map: id 42
    bucket: { offset: 0, size: 4, type: linear, max: 10, multiplier: 0.1 }
  - { name: g, help: G., type: gauge, map: name counts, value: { offset: 0, size: 8, signed: true } }
`, 'c.yaml');
  assert.equal(c.batchSize, 512);
  const [a, b, g] = c.metrics;
  assert.deepEqual(a?.map, { kind: 'pinned', path: '/sys/fs/bpf/flows' });
  assert.equal(a?.percpu, 'cpu');
  assert.equal(a?.maxSeries, 100);
  assert.deepEqual(a?.labels.map((l) => [l.name, l.field, l.offset, l.size, l.decoder]), [
    ['saddr', 'key.saddr', undefined, undefined, 'ipv4'],
    ['dport', undefined, 10, 2, 'port'],
    ['proto', undefined, 12, 1, 'static'],
  ]);
  assert.deepEqual([...(a?.labels[2]?.values ?? [])], [['6', 'tcp'], ['17', 'udp']]);
  assert.match(a?.labels[1]?.where ?? '', /^c\.yaml:12:9: metrics\[0\]\.labels\[1\]$/);
  assert.deepEqual(b?.map, { kind: 'id', id: 42 });
  assert.deepEqual([b?.bucket?.type, b?.bucket?.min, b?.bucket?.max, b?.bucket?.multiplier], ['linear', 0, 10, 0.1]);
  assert.equal(b?.maxSeries, DEFAULT_MAX_SERIES);
  assert.equal(b?.percpu, 'sum');
  assert.deepEqual([g?.map, g?.value?.signed, g?.value?.size], [{ kind: 'name', name: 'counts' }, true, 8]);
});

test('JSON is accepted (it is YAML)', () => {
  const c = parseConfig(JSON.stringify({ metrics: [{ name: 'x_total', help: 'X.', type: 'counter', map: 'id 7' }] }));
  assert.equal(c.metrics[0]?.name, 'x_total');
  assert.equal(c.batchSize, DEFAULT_BATCH_SIZE);
});

test('every problem is reported with its file, line, column and field path', () => {
  const got = problems(`metrics:
  - name: flows
    help: Flows.
    type: counter
    map: idd 4
    labels:
      - { name: saddr, offset: 0, decoder: ipv5 }
      - { name: dport, offset: 10, decoder: port, size: 4 }
      - { name: proto, offset: 12, size: 1, decoder: static }
      - { name: 2bad, offset: 0, size: 1 }
    lables: []
  - name: lat
    help: L.
    type: histogram
    map: id 1
    value: { offset: 0, size: 8 }
  - { name: flows, help: Again., type: gauge, map: id 0, max_series: 0 }
  - { name: g, type: gauge, map: id 1 }
  - { name: v, help: V., type: gauge, map: id 1, value: { offset: 0, size: 3 }, percpu: each }
`);
  assert.deepEqual(got, [
    'c.yaml:11:5: metrics[0].lables: unknown field (expected one of: name, help, type, map, labels, value, bucket, percpu, max_series)',
    "c.yaml:2:11: metrics[0].name: a counter's name ends in _total (e.g. flows_total)",
    'c.yaml:5:10: metrics[0].map: expected "id N", "pinned PATH" or "name NAME", got "idd 4"',
    'c.yaml:7:44: metrics[0].labels[0].decoder: expected one of integer, hex, ipv4, ipv6, port, enum, string, static, got "ipv5"',
    'c.yaml:7:9: metrics[0].labels[0]: needs size (bytes) with offset',
    'c.yaml:8:57: metrics[0].labels[1].size: the port decoder reads 2 bytes, got size 4',
    'c.yaml:9:9: metrics[0].labels[2]: the static decoder needs values: {integer: label value, ...}',
    'c.yaml:10:17: metrics[0].labels[3].name: "2bad" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)',
    'c.yaml:16:12: metrics[1].value: a histogram counts with the whole value; leave value out',
    'c.yaml:12:5: metrics[1]: a histogram needs bucket: {field or offset/size of the bucket key, type: log2|linear, max}',
    'c.yaml:17:13: metrics[2].name: "flows" is already the name of metrics[0]',
    'c.yaml:17:52: metrics[2].map: a map id is a positive integer, got "0"',
    'c.yaml:17:70: metrics[2].max_series: must be at least 1, got 0',
    'c.yaml:18:5: metrics[3].help: missing',
    'c.yaml:19:76: metrics[4].value.size: a value is an integer of 1, 2, 4 or 8 bytes (or a float of 4 or 8), got 3',
    'c.yaml:19:89: metrics[4].percpu: expected one of sum, cpu, got "each"',
  ]);
});

test('syntax errors, duplicate keys and wrong shapes point at their line', () => {
  assert.deepEqual(problems('metrics:\n  - name: a\n    name: b\n'), ['c.yaml:3:5: Map keys must be unique']);
  assert.match(problems('metrics: [\n')[0] ?? '', /^c\.yaml:2:1: /);
  assert.deepEqual(problems('- 1\n'), ['c.yaml:1:1: (top): expected a mapping (key: value lines, or a JSON object)']);
  assert.deepEqual(problems('metrics: []\n'), ['c.yaml:1:10: metrics: expected a non-empty list of metrics']);
  assert.deepEqual(problems('batch_size: 0\nmetrics: [{ name: a_total, help: A., type: counter, map: id 1 }]\n'), ['c.yaml:1:13: batch_size: must be at least 1, got 0']);
  assert.deepEqual(problems('metrics: [{ name: a_total, help: A., type: counter, map: id 1, labels: [{ name: x, field: a, offset: 0 }] }]\n'),
    ['c.yaml:1:102: metrics[0].labels[0].offset: give either field (a BTF member) or offset and size, not both']);
  assert.deepEqual(problems('metrics: [{ name: bpfmap_export_x, help: A., type: gauge, map: id 1 }]\n'),
    ["c.yaml:1:19: metrics[0].name: names starting with bpfmap_export_ are the exporter's own"]);
  assert.deepEqual(problems('metrics: [{ name: h, help: H., type: histogram, map: id 1, labels: [{ name: le, offset: 0, size: 4 }], bucket: { offset: 4, size: 4, type: log2, max: 3 } }]\n'),
    ['c.yaml:1:11: metrics[0].labels: label "le" is the histogram\'s own']);
  const many = `metrics:\n${Array.from({ length: 30 }, (_, i) => `  - { name: m${i}, help: x, type: counter, map: id 1 }`).join('\n')}\n`;
  const e = (() => {
    try {
      parseConfig(many, 'c.yaml');
    } catch (err) {
      return err as ConfigError;
    }
    return undefined;
  })();
  assert.equal(e?.problems.length, 30);
  assert.match(e?.message ?? '', /\.\.\. and 10 more$/);
});
