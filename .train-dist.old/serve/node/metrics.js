// Prometheus metrics (prom-client) on a registry of our own, so several servers can live in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
export class ServeMetrics {
    registry = new Registry();
    requests;
    failures;
    requestDuration;
    queueTime;
    computeTime;
    batchSize;
    images;
    rejected;
    queueDepth;
    modelInfo;
    /** Read when /metrics is scraped. */
    queueDepthFn = () => 0;
    constructor(opts = {}) {
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
        this.queueTime = new Histogram({ name: 'ecl_inference_queue_seconds', help: 'Time a request waited in the batching queue', buckets: LATENCY_BUCKETS, registers });
        this.computeTime = new Histogram({ name: 'ecl_inference_compute_seconds', help: 'onnxruntime session.run time per batch', buckets: LATENCY_BUCKETS, registers });
        this.batchSize = new Histogram({ name: 'ecl_inference_batch_size', help: 'Images per onnxruntime run', buckets: BATCH_BUCKETS, registers });
        this.images = new Counter({ name: 'ecl_inference_images_total', help: 'Images run through the model', registers });
        this.rejected = new Counter({ name: 'ecl_inference_rejected_total', help: 'Requests refused by the batcher (queue full, shutting down)', labelNames: ['reason'], registers });
        const self = this;
        this.queueDepth = new Gauge({
            name: 'ecl_inference_queue_depth',
            help: 'Requests waiting in the batching queue',
            registers,
            collect() {
                this.set(self.queueDepthFn());
            },
        });
        this.modelInfo = new Gauge({ name: 'ecl_model_info', help: 'Served model and the execution provider that loaded it (value 1)', labelNames: ['model', 'ep'], registers });
        if (opts.defaultMetrics ?? true)
            collectDefaultMetrics({ register: this.registry, prefix: 'ecl_' });
    }
    observeRequest(route, method, status, seconds) {
        const labels = { route, method, status: String(status) };
        this.requests.inc(labels);
        if (status >= 400)
            this.failures.inc(labels);
        this.requestDuration.observe({ route }, seconds);
    }
    observeBatch(images, computeSeconds, queueSeconds) {
        this.batchSize.observe(images);
        this.images.inc(images);
        this.computeTime.observe(computeSeconds);
        for (const q of queueSeconds)
            this.queueTime.observe(q);
    }
}
//# sourceMappingURL=metrics.js.map