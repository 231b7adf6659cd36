// The server's options (yargs) and its process lifecycle: start, log the choice of EP, drain on SIGTERM.
// Used by `ecl serve` (pipeline/cli/serve.ts) and by the standalone serve/node/main.ts, which must not load
// the training side. Heavy modules load only when the server starts.
import type { Argv } from 'yargs';
import { EP_CHOICES, type EpChoice } from './ep.js';
import { SERVE_DEFAULTS } from './defaults.js';
import type { RunningServer, ServeOptions } from './server.js';

export interface ServeArgs {
  model: string;
  host: string;
  port: number;
  ep: string;
  'max-batch': number;
  'max-delay-ms': number;
  'max-queue': number;
  'body-limit': number;
  'max-image-pixels': number;
  'model-name'?: string;
  inference: string;
  'intra-op-threads': number;
  'ort-spin': boolean;
  'shutdown-timeout': number;
}

export const serveOptions = <T>(y: Argv<T>) =>
  y
    .option('model', { type: 'string', demandOption: true, describe: 'exported model, e.g. runs/<name>/model.onnx' })
    .option('host', { type: 'string', default: SERVE_DEFAULTS.host, describe: 'address to listen on' })
    .option('port', { type: 'number', default: SERVE_DEFAULTS.port, describe: 'port (0 = any free port)' })
    .option('ep', { type: 'string', choices: EP_CHOICES as unknown as string[], default: SERVE_DEFAULTS.ep, describe: 'execution provider: auto tries cuda then cpu' })
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
    .option('ort-spin', { type: 'boolean', default: SERVE_DEFAULTS.ortSpin, describe: "onnxruntime thread spinning (its default); --no-ort-spin saves CPU on an idle or shared machine" })
    .option('shutdown-timeout', { type: 'number', default: 30, describe: 'seconds to drain on SIGTERM before giving up (exit 1)' });

export function serveOptionsFromArgs(a: ServeArgs, log?: (line: string) => void): ServeOptions {
  return {
    modelPath: a.model,
    host: a.host,
    port: a.port,
    ep: a.ep as EpChoice,
    maxBatch: a['max-batch'],
    maxDelayMs: a['max-delay-ms'],
    maxQueue: a['max-queue'],
    bodyLimit: a['body-limit'],
    maxImagePixels: a['max-image-pixels'],
    ...(a['model-name'] ? { modelName: a['model-name'] } : {}),
    inference: a.inference as ServeOptions['inference'],
    intraOpThreads: a['intra-op-threads'],
    ortSpin: a['ort-spin'],
    ...(log ? { log } : {}),
  };
}

/**
 * Starts the server and installs SIGTERM/SIGINT handlers: stop accepting, finish in-flight and queued
 * requests, exit 0 (exit 1 when draining takes longer than --shutdown-timeout; a second signal exits 1 at once).
 */
export async function runServe(a: ServeArgs): Promise<RunningServer> {
  const log = (line: string) => process.stderr.write(`serve: ${line}\n`);
  const { startServer } = await import('./server.js');
  const srv = await startServer(serveOptionsFromArgs(a, log));
  const failed = srv.tried.filter((t) => !t.ok);
  log(`model '${srv.info.name}' (${srv.info.path}): input ${srv.info.input.name} uint8 [N, ${srv.info.input.height}, ${srv.info.input.width}, ${srv.info.input.channels}], ${srv.info.numClasses} classes`);
  log(`execution provider: ${srv.ep}${failed.length ? ` (not used: ${failed.map((t) => `${t.ep}: ${t.reason}`).join('; ')})` : ''}`);
  log(`batching: max ${a['max-batch']} images, max delay ${a['max-delay-ms']} ms, queue ${a['max-queue']} requests; inference ${a.inference}`);
  // The one line on stdout: tools (tests, bench) read the URL from it.
  process.stdout.write(`listening on ${srv.url}\n`);
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
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
    srv.close().then(
      () => {
        log('drained, bye');
        process.exit(0);
      },
      (e: unknown) => {
        log(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return srv;
}
