// yargs command module `ecl bench-train` (scripts/bench-train.ts also runs it standalone). The benchmark
// itself (tfjs, the trainer, child processes) loads only when the command runs.
import type { Argv, CommandModule } from 'yargs';
import { MODEL_FAMILIES, type ModelFamily } from '../../models/spec.js';
import { BACKENDS } from '../backend/select.js';
import { BENCH_LOSSES, type BenchTrainOptions, parseList } from '../bench/train-report.js';
import { intAtLeast, posInt, posNumber, withStageHelp } from './common.js';

/** The command's arguments: the benchmark's options, with models and losses as comma-separated strings. */
export type BenchTrainArgs = Omit<BenchTrainOptions, 'models' | 'losses' | 'log'> & { models: string; loss: string };

/** A comma-separated list option checked against its allowed names at parse time (a usage error otherwise). */
const listOf = (name: string, allowed: readonly string[]) => (v: unknown) => {
  if (v === undefined) return undefined;
  parseList(String(v), allowed, name);
  return String(v);
};

export const benchTrainCommand: CommandModule<object, BenchTrainArgs> = {
  command: 'bench-train',
  describe: 'training-step throughput of the tfjs trainer next to a PyTorch CPU peer on the same model/loss; writes bench/train.json',
  builder: (y) =>
    withStageHelp(
      y
        .option('models', { type: 'string', default: 'cnn28,resnet32', coerce: listOf('models', MODEL_FAMILIES), describe: `comma-separated: ${MODEL_FAMILIES.join(', ')}` })
        .option('batch', { type: 'number', default: 128, coerce: intAtLeast('batch', 2), describe: 'images per training step' })
        .option('loss', { type: 'string', default: 'la-ce', coerce: listOf('loss', BENCH_LOSSES), describe: 'la-ce | ecl (comma-separated for both; ecl runs 3 views per image)' })
        .option('lr', { type: 'number', default: 0.01, coerce: posNumber('lr'), describe: 'constant learning rate of both sides' })
        .option('backend', { type: 'string', choices: [...BACKENDS], default: 'wasm', describe: 'tfjs backend of the trainer' })
        .group(['models', 'batch', 'loss', 'lr', 'backend'], 'Workload:')
        .option('steps', { type: 'number', default: 5, coerce: posInt('steps'), describe: 'timed steps per round' })
        .option('warmup', { type: 'number', default: 2, coerce: posInt('warmup'), describe: 'untimed steps at the start of every round (≥ 1)' })
        .option('rounds', { type: 'number', default: 3, coerce: posInt('rounds'), describe: 'interleaved tfjs/PyTorch rounds per case' })
        .group(['steps', 'warmup', 'rounds'], 'Timing:')
        .option('torch', { type: 'boolean', default: true, describe: 'run the PyTorch peer; --no-torch skips it' })
        .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'interpreter with torch for the peer' })
        .option('threads', { type: 'number', default: 2, coerce: posInt('threads'), describe: 'torch.set_num_threads for the peer' })
        .option('torch-device', { type: 'string', default: 'cpu', describe: 'device of the PyTorch peer: cpu, or cuda on a GPU machine' })
        .option('nchw', { type: 'boolean', default: true, describe: 'also time the peer with NCHW tensors (channels_last always runs); --no-nchw skips it' })
        .group(['torch', 'python', 'threads', 'torch-device', 'nchw'], 'PyTorch peer:')
        .option('out', { type: 'string', default: 'bench/train.json', describe: 'report path (JSON; the table goes to stdout)' })
        .option('merge', { type: 'boolean', default: false, describe: 'keep rows of other cases already in --out' })
        .option('doc', { type: 'string', default: '', describe: "markdown file whose generated table is rewritten from the report (make bench-train: docs/training-speed.md)" })
        .option('note', { type: 'string', default: '', describe: "conditions stored with the numbers, e.g. 'machine shared'" })
        .option('profile', { type: 'boolean', default: false, describe: 'then profile one step per case: ms per kernel -> <out>-profile.json and .md' })
        .option('profile-only', { type: 'boolean', default: false, describe: 'only the per-kernel profile (make profile-train)' })
        .group(['out', 'merge', 'doc', 'note', 'profile', 'profile-only'], 'Output:'),
      'bench-train',
      [
        ['$0 bench-train --models cnn28 --steps 3 --rounds 1 --no-torch', 'a quick tfjs-only measurement'],
        ['$0 bench-train --backend webgpu --torch-device cuda --batch 512', 'on a GPU machine (make bench-train-gpu)'],
      ],
    ) as unknown as Argv<BenchTrainArgs>,
  handler: async (a) => {
    const { benchTrain } = await import('../bench/train.js');
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
      nchw: a.nchw,
      doc: a.doc,
      note: a.note,
      profile: a.profile,
      profileOnly: a.profileOnly,
    });
  },
};
