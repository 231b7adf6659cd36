import { EP_CHOICES } from '../ep.js';
import { SERVE_DEFAULTS } from './defaults.js';
export const serveOptions = (y) => y
    .option('model', { type: 'string', demandOption: true, describe: 'exported model, e.g. runs/<name>/model.onnx' })
    .option('host', { type: 'string', default: SERVE_DEFAULTS.host, describe: 'address to listen on' })
    .option('port', { type: 'number', default: SERVE_DEFAULTS.port, describe: 'port (0 = any free port)' })
    .option('ep', { type: 'string', choices: EP_CHOICES, default: SERVE_DEFAULTS.ep, describe: 'execution provider: auto tries cuda then cpu' })
    .option('max-batch', { type: 'number', default: SERVE_DEFAULTS.maxBatch, describe: 'most images per request and per onnxruntime run' })
    .option('max-delay-ms', {
    type: 'number',
    default: SERVE_DEFAULTS.maxDelayMs,
    describe: 'longest wait of the oldest queued request for companions (0: run whatever is queued as soon as the model is idle)',
})
    .option('max-queue', { type: 'number', default: SERVE_DEFAULTS.maxQueue, describe: 'most requests waiting; beyond that 503 + Retry-After' })
    .option('body-limit', { type: 'number', default: SERVE_DEFAULTS.bodyLimit, describe: 'request body bytes (JSON, raw image, each multipart file)' })
    .option('max-image-pixels', { type: 'number', default: SERVE_DEFAULTS.maxImagePixels, describe: 'decoded width x height allowed per uploaded image' })
    .option('model-name', { type: 'string', describe: 'name in /v2/models/{name} (default: runs/<name>/model.onnx -> <name>)' })
    .option('inference', { type: 'string', choices: ['worker', 'inline'], default: SERVE_DEFAULTS.inference, describe: 'run onnxruntime in a worker thread or on the event loop' })
    .option('intra-op-threads', { type: 'number', default: SERVE_DEFAULTS.intraOpThreads, describe: 'onnxruntime intra-op threads (0 = its default)' })
    .option('ort-spin', { type: 'boolean', default: SERVE_DEFAULTS.ortSpin, describe: "let onnxruntime's threads spin between runs (more CPU, sometimes lower latency)" })
    .option('shutdown-timeout', { type: 'number', default: 30, describe: 'seconds to drain on SIGTERM before giving up (exit 1)' });
export function serveOptionsFromArgs(a, log) {
    return {
        modelPath: a.model,
        host: a.host,
        port: a.port,
        ep: a.ep,
        maxBatch: a['max-batch'],
        maxDelayMs: a['max-delay-ms'],
        maxQueue: a['max-queue'],
        bodyLimit: a['body-limit'],
        maxImagePixels: a['max-image-pixels'],
        ...(a['model-name'] ? { modelName: a['model-name'] } : {}),
        inference: a.inference,
        intraOpThreads: a['intra-op-threads'],
        ortSpin: a['ort-spin'],
        ...(log ? { log } : {}),
    };
}
/**
 * Starts the server and installs SIGTERM/SIGINT handlers: stop accepting, finish in-flight and queued
 * requests, exit 0 (exit 1 when draining takes longer than --shutdown-timeout; a second signal exits 1 at once).
 */
export async function runServe(a) {
    const log = (line) => process.stderr.write(`serve: ${line}\n`);
    const { startServer } = await import('./server.js');
    const srv = await startServer(serveOptionsFromArgs(a, log));
    const failed = srv.tried.filter((t) => !t.ok);
    log(`model '${srv.info.name}' (${srv.info.path}): input ${srv.info.input.name} uint8 [N, ${srv.info.input.height}, ${srv.info.input.width}, ${srv.info.input.channels}], ${srv.info.numClasses} classes`);
    log(`execution provider: ${srv.ep}${failed.length ? ` (not used: ${failed.map((t) => `${t.ep}: ${t.reason}`).join('; ')})` : ''}`);
    log(`batching: max ${a['max-batch']} images, max delay ${a['max-delay-ms']} ms, queue ${a['max-queue']} requests; inference ${a.inference}`);
    // The one line on stdout: tools (tests, bench) read the URL from it.
    process.stdout.write(`listening on ${srv.url}\n`);
    let signalled = false;
    const onSignal = (sig) => {
        if (signalled) {
            log(`${sig} again: exiting without draining`);
            process.exit(1);
        }
        signalled = true;
        const queued = srv.batcher.queuedRequests + (srv.batcher.busy ? 1 : 0);
        log(`${sig}: draining (${queued} batch(es)/requests pending), no new connections`);
        const timer = setTimeout(() => {
            log(`drain took longer than ${a['shutdown-timeout']} s, exiting`);
            process.exit(1);
        }, a['shutdown-timeout'] * 1000);
        timer.unref();
        srv.close().then(() => {
            log('drained, bye');
            process.exit(0);
        }, (e) => {
            log(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
            process.exit(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    return srv;
}
export const serveCommand = {
    command: 'serve',
    describe: 'serve an exported model over HTTP (KServe v2 + /v1/classify + /metrics)',
    builder: (y) => serveOptions(y),
    handler: async (a) => {
        await runServe(a);
    },
};
export const benchServeCommand = {
    command: 'bench-serve',
    describe: 'load-test `serve` with autocannon next to raw session.run throughput; writes bench/serve.json',
    builder: (y) => y
        .option('model', { type: 'string', describe: 'model to serve (default: a freshly initialised --family model in a temp dir)' })
        .option('family', { type: 'string', default: 'cnn28', describe: 'model family for the generated model: cnn28 | resnet8 | resnet20 | resnet32' })
        .option('duration', { type: 'number', default: 8, describe: 'seconds per concurrency level' })
        .option('connections', { type: 'string', default: '1,16,64', describe: 'comma-separated concurrency levels' })
        .option('max-batch', { type: 'number', default: SERVE_DEFAULTS.maxBatch })
        .option('max-delay-ms', { type: 'number', default: SERVE_DEFAULTS.maxDelayMs })
        .option('ep', { type: 'string', choices: EP_CHOICES, default: 'cpu' })
        .option('payload', { type: 'string', choices: ['json', 'binary'], default: 'json', describe: 'v2 request body: JSON data array or the binary tensor extension' })
        .option('inference', { type: 'string', choices: ['worker', 'inline'], default: SERVE_DEFAULTS.inference })
        .option('server-arg', { type: 'string', array: true, default: [], describe: 'extra `serve` option for the server process (repeatable), e.g. --server-arg=--ort-spin' })
        .option('out', { type: 'string', default: 'bench/serve.json' }),
    handler: async (a) => {
        const { benchServe } = await import('../../scripts/bench-serve.js');
        await benchServe({
            ...(a.model ? { model: a.model } : {}),
            family: a.family,
            durationS: a.duration,
            connections: a.connections.split(',').map((s) => Number(s.trim())),
            maxBatch: a['max-batch'],
            maxDelayMs: a['max-delay-ms'],
            ep: a.ep,
            payload: a.payload,
            inference: a.inference,
            out: a.out,
            serverArgs: a['server-arg'].map(String),
        });
    },
};
//# sourceMappingURL=command.js.map