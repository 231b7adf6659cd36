// Prometheus metrics (prom-client) on a registry of our own, so several servers can live in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/** Inference metrics are per model version (serve/node/model-repository.ts). */
type ModelLabel = 'model' | 'version';
const MODEL_LABELS: ModelLabel[] = ['model', 'version'];

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly failures: Counter<'route' | 'method' | 'status'>;
  readonly requestDuration: Histogram<'route'>;
  readonly queueTime: Histogram<ModelLabel>;
  readonly computeTime: Histogram<ModelLabel>;
  readonly batchSize: Histogram<ModelLabel>;
  readonly images: Counter<ModelLabel>;
  readonly rejected: Counter<'reason'>;
  readonly queueDepth: Gauge<ModelLabel>;
  readonly modelInfo: Gauge<ModelLabel | 'ep'>;
  /** Read when /metrics is scraped: the queue of every loaded model version. */
  queueDepthFn: () => Array<{ model: string; version: string; depth: number }> = () => [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'ecl_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.failures = new Counter({
      name: 'ecl_http_request_failures_total',
      help: 'HTTP requests answered with status >= 400, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'ecl_http_request_duration_seconds',
      help: 'HTTP request duration (receive to response) by route',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const labelNames = MODEL_LABELS;
    this.queueTime = new Histogram({ name: 'ecl_inference_queue_seconds', help: 'Time a request waited in the batching queue, by model and version', labelNames, buckets: LATENCY_BUCKETS, registers });
    this.computeTime = new Histogram({ name: 'ecl_inference_compute_seconds', help: 'onnxruntime session.run time per batch, by model and version', labelNames, buckets: LATENCY_BUCKETS, registers });
    this.batchSize = new Histogram({ name: 'ecl_inference_batch_size', help: 'Images per onnxruntime run, by model and version', labelNames, buckets: BATCH_BUCKETS, registers });
    this.images = new Counter({ name: 'ecl_inference_images_total', help: 'Images run through the model, by model and version', labelNames, registers });
    this.rejected = new Counter({ name: 'ecl_inference_rejected_total', help: 'Inference requests answered 503, by reason: queue_full, inflight_full, connection_inflight_full, queue_timeout (expected wait, on arrival), deadline_expired (shed from the queue), shutting_down, body_timeout (408)', labelNames: ['reason'], registers });
    const self = this;
    this.queueDepth = new Gauge({
      name: 'ecl_inference_queue_depth',
      help: 'Requests waiting in the batching queue of each loaded model version',
      labelNames,
      registers,
      collect() {
        // Unloaded versions disappear from the gauge.
        this.reset();
        for (const q of self.queueDepthFn()) this.set({ model: q.model, version: q.version }, q.depth);
      },
    });
    this.modelInfo = new Gauge({ name: 'ecl_model_info', help: 'Loaded model versions and the execution provider each loaded on (value 1)', labelNames: [...labelNames, 'ep'], registers });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ecl_' });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.requests.inc(labels);
    if (status >= 400) this.failures.inc(labels);
    this.requestDuration.observe({ route }, seconds);
  }

  observeBatch(model: Record<ModelLabel, string>, images: number, computeSeconds: number, queueSeconds: readonly number[]): void {
    this.batchSize.observe(model, images);
    this.images.inc(model, images);
    this.computeTime.observe(model, computeSeconds);
    for (const q of queueSeconds) this.queueTime.observe(model, q);
  }
}
