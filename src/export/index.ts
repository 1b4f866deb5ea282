// The exporter's entry point, `bpfmap/export`: apart from the main one, so `import 'bpfmap'` loads
// neither the YAML parser nor the HTTP server.
export { Exporter, type Collector, type ExporterOptions } from './exporter.js';
export { ConfigError, parseConfig, type ExportConfig, type MetricSpec } from './config.js';
export { MapsCollector } from './maps.js';
export { DEFAULT_LIMITS, MetricsServer, type ServerLimits } from './server.js';
export { render as renderMetrics, type Family } from './exposition.js';
export { ProcessCollector } from './process.js';
export { registerCollector, type PromMetric, type PromRegistry, type PromSample } from './prom-client.js';
