// `ecl bench-serve`: autocannon against `serve` next to raw session.run throughput (pipeline/bench/serve.ts).
import { createRequire } from 'node:module';
import type { Argv, CommandModule } from 'yargs';
import { MODEL_FAMILIES } from '../../models/spec.js';
import { EP_CHOICES, type EpChoice } from '../../serve/node/ep.js';
import { SERVE_DEFAULTS } from '../../serve/node/defaults.js';
import { nonNegNumber, posInt, posIntCsv, posNumber, withStageHelp } from './common.js';

export interface BenchServeArgs {
  model?: string;
  family: string;
  duration: number;
  connections: string;
  'max-batch': number;
  'max-delay-ms': number;
  ep: string;
  payload: string;
  floor: boolean;
  note: string;
  out: string;
  inference: string;
  'server-arg': string[];
  'server-profile'?: string;
}

export const benchServeCommand: CommandModule<object, BenchServeArgs> = {
  command: 'bench-serve',
  describe: 'load-test `serve` with autocannon next to raw session.run throughput; writes bench/serve.json',
  builder: (y) =>
    withStageHelp(
      y
        .option('model', { type: 'string', describe: 'model to serve (default: a freshly initialised --family model in a temp dir)' })
        .option('family', { type: 'string', choices: MODEL_FAMILIES as unknown as string[], default: 'cnn28', describe: 'model family for the generated model' })
        .option('payload', { type: 'string', choices: ['json', 'binary', 'both'], default: 'both', describe: 'v2 request body: JSON data array, the binary tensor extension, or both (one after the other)' })
        .option('floor', { type: 'boolean', default: true, describe: 'also load an HTTP floor server (same fastify options and parsers, no inference); --no-floor skips it' })
        .option('note', { type: 'string', default: '', describe: "conditions stored with the numbers, e.g. 'machine shared'" })
        .group(['model', 'family', 'payload', 'floor', 'note'], 'Model and requests:')
        .option('duration', { type: 'number', default: 8, coerce: posNumber('duration'), describe: 'seconds per concurrency level' })
        .option('connections', { type: 'string', default: '1,16,64', coerce: posIntCsv('connections'), describe: 'comma-separated concurrency levels' })
        .option('out', { type: 'string', default: 'bench/serve.json', describe: 'report path' })
        .group(['duration', 'connections', 'out'], 'Load:')
        .option('max-batch', { type: 'number', default: SERVE_DEFAULTS.maxBatch, coerce: posInt('max-batch'), describe: 'server: most images per onnxruntime run' })
        .option('max-delay-ms', { type: 'number', default: SERVE_DEFAULTS.maxDelayMs, coerce: nonNegNumber('max-delay-ms'), describe: 'server: longest wait for batch companions' })
        .option('ep', { type: 'string', choices: EP_CHOICES as unknown as string[], default: 'cpu', describe: 'server: execution provider' })
        .option('inference', { type: 'string', choices: ['worker', 'inline'], default: SERVE_DEFAULTS.inference, describe: 'server: onnxruntime in a worker thread or on the event loop' })
        .option('server-arg', { type: 'string', array: true, default: [] as string[], describe: 'extra `serve` option for the server process (repeatable), e.g. --server-arg=--no-ort-spin' })
        .option('server-profile', { type: 'string', describe: "folder for a V8 CPU profile of the server process (node --cpu-prof), written when it stops: the hot path's per-function time" })
        .group(['max-batch', 'max-delay-ms', 'ep', 'inference', 'server-arg', 'server-profile'], 'Server:'),
      'bench-serve',
      [
        ['$0 bench-serve --model runs/demo/model.onnx --payload binary', 'the demo model under load (make bench-serve)'],
        ['$0 bench-serve --family resnet20 --connections 1,16 --duration 4', 'a generated ResNet-20, two levels'],
      ],
    ) as unknown as Argv<BenchServeArgs>,
  handler: async (a) => {
    // autocannon is a dev dependency (npm ci --omit=dev leaves it out): say so before starting a server.
    try {
      createRequire(import.meta.url).resolve('autocannon');
    } catch {
      throw new Error('bench-serve needs autocannon, a dev dependency that this install left out (npm ci without --omit=dev installs it)');
    }
    const { benchServe } = await import('../bench/serve.js');
    await benchServe({
      ...(a.model ? { model: a.model } : {}),
      family: a.family,
      durationS: a.duration,
      connections: a.connections.split(',').map((s) => Number(s.trim())),
      maxBatch: a['max-batch'],
      maxDelayMs: a['max-delay-ms'],
      ep: a.ep as EpChoice,
      payloads: a.payload === 'both' ? ['json', 'binary'] : [a.payload as 'json' | 'binary'],
      floor: a.floor,
      note: a.note,
      inference: a.inference as 'worker' | 'inline',
      out: a.out,
      serverArgs: a['server-arg'].map(String),
      serverProfileDir: a['server-profile'],
    });
  },
};
