// Child process of checkTrainNumerics (numerics.ts): trains one side on one backend and prints its per-step
// losses as one JSON line. Its own process, so each side gets its own backend, environment and kernels.
import type { ModelFamily } from '../../models/spec.js';
import { type NumericsOptions, trainLosses } from './numerics.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : def;
}

const o: NumericsOptions = { model: arg('model', 'cnn28') as ModelFamily, loss: arg('loss', 'la-ce') as 'la-ce' | 'ecl', batch: Number(arg('batch', '16')), steps: Number(arg('steps', '20')), lr: Number(arg('lr', '0.01')), backends: ['', ''], tol: 0, data: arg('data', 'synthetic') as 'synthetic' | 'embedded' };
trainLosses(o, arg('backend', 'wasm')).then(
  (r) => process.stdout.write(JSON.stringify(r) + '\n'),
  (e: unknown) => {
    process.stderr.write(`numerics child: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
