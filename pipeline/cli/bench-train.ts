// yargs command module `ecl bench-train` (scripts/bench-train.ts also runs it standalone). The benchmark
// itself (tfjs, the trainer, child processes) loads only when the command runs.
import type { Argv, CommandModule } from 'yargs';
import { MODEL_FAMILIES, type ModelFamily } from '../../models/spec.js';
import type { BenchTrainOptions } from '../bench/train-report.js';

/** The command's arguments: the benchmark's options, with models and losses as comma-separated strings. */
export type BenchTrainArgs = Omit<BenchTrainOptions, 'models' | 'losses' | 'log'> & { models: string; loss: string };

export const benchTrainCommand: CommandModule<object, BenchTrainArgs> = {
  command: 'bench-train',
  describe: 'training-step throughput of the tfjs trainer next to a PyTorch CPU peer on the same model/loss; writes bench/train.json',
  builder: (y) =>
    y
      .option('models', { type: 'string', default: 'cnn28,resnet32', describe: `comma-separated: ${MODEL_FAMILIES.join(', ')}` })
      .option('batch', { type: 'number', default: 128 })
      .option('loss', { type: 'string', default: 'la-ce', describe: 'la-ce | ecl (comma-separated for both; ecl runs 3 views per image)' })
      .option('steps', { type: 'number', default: 5, describe: 'timed steps per round' })
      .option('warmup', { type: 'number', default: 2, describe: 'untimed steps at the start of every round (≥ 1)' })
      .option('rounds', { type: 'number', default: 3, describe: 'interleaved tfjs/PyTorch rounds per case' })
      .option('out', { type: 'string', default: 'bench/train.json' })
      .option('torch', { type: 'boolean', default: true, describe: 'run the PyTorch peer; --no-torch skips it' })
      .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'interpreter with torch for the peer' })
      .option('threads', { type: 'number', default: 2, describe: 'torch.set_num_threads for the peer' })
      .option('torch-device', { type: 'string', default: 'cpu', describe: 'device of the PyTorch peer: cpu, or cuda on a GPU machine' })
      .option('backend', { type: 'string', default: 'wasm', describe: 'tfjs backend of the trainer' })
      .option('lr', { type: 'number', default: 0.01, describe: 'constant learning rate of both sides' })
      .option('merge', { type: 'boolean', default: false, describe: 'keep rows of other cases already in --out' }) as unknown as Argv<BenchTrainArgs>,
  handler: async (a) => {
    const [{ benchTrain }, { parseList, BENCH_LOSSES }] = await Promise.all([import('../bench/train.js'), import('../bench/train-report.js')]);
    await benchTrain({
      models: parseList<ModelFamily>(a.models, MODEL_FAMILIES, 'models'),
      batch: a.batch,
      losses: parseList(a.loss, BENCH_LOSSES, 'loss'),
      steps: a.steps,
      warmup: a.warmup,
      rounds: a.rounds,
      out: a.out,
      torch: a.torch,
      python: a.python,
      threads: a.threads,
      torchDevice: a.torchDevice,
      backend: a.backend,
      lr: a.lr,
      merge: a.merge,
    });
  },
};
