// `ecl train`: the options of a training run and their mapping onto the run config (pipeline/train/config.ts).
// Options carry no yargs defaults (DEFAULTS fills what is not given) so that `--config runs/<name>/config.json`
// can tell the options given on the command line, which win, from the replayed ones.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { RUN_FILES, runDirOf } from '../../models/artifacts/run-dir.js';
import { lossNames } from '../../models/losses/registry.js';
import { MODEL_FAMILIES } from '../../models/spec.js';
import { BACKENDS } from '../backend/select.js';
import { datasetNames } from '../data/registry.js';
import { DEFAULTS, type TrainConfig, resolveConfig } from '../train/config.js';
import { intAtLeast, nonNegInt, nonNegNumber, numberAtLeast, numberList, posInt, posNumber, unitInterval, withStageHelp } from './common.js';
import { UsageError } from './errors.js';
import { claimRunFolder } from './run-folder.js';
import { datasetConfigFromArgs, datasetOptions } from './dataset-options.js';

const d = (v: unknown) => ({ defaultDescription: Array.isArray(v) ? `[${v.join(', ')}]` : String(v) });

export const trainOptions = <T>(y: Argv<T>) =>
  datasetOptions(y)
    .option('dataset', { type: 'string', choices: datasetNames(), ...d('fmnist-lt'), describe: 'training data (embedded = the subset shipped in the repository; folder / csv = your own images, see the group below)' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: per dataset, e.g. /usr/share/datasets/fashion-mnist)' })
    .option('imbalance', { type: 'number', coerce: numberAtLeast('imbalance', 1), ...d(DEFAULTS.imbalance), describe: 'imbalance factor n_max/n_min (100, 50, 10; 1 = balanced); folder/csv keep your own counts unless given' })
    .option('val-per-class', { type: 'number', coerce: nonNegInt('val-per-class'), ...d(DEFAULTS.valPerClass), describe: 'balanced validation images per class (embedded, imagenet-lt, isic2019; fmnist-lt and cifar*-lt validate on a fixed stratified half of the test set)' })
    .option('train-limit', { type: 'number', coerce: nonNegInt('train-limit'), ...d(0), describe: 'use only the first N long-tail training images (smoke runs; 0 = all)' })
    .option('test-limit', { type: 'number', coerce: nonNegInt('test-limit'), ...d(0), describe: 'evaluate on at most N test images per epoch (0 = all)' })
    .option('augment', { type: 'boolean', ...d(true), describe: 'random crop + flip (+ colour jitter for RGB); --no-augment disables' })
    .option('views', { type: 'string', choices: ['weak', 'reference'], ...d(DEFAULTS.views), describe: "the three training views: weak = crop + flip on each; reference = BCL's: RandAugment on the classifier view, SimCLR (resized crop, jitter, grey-scale) on the contrastive views (docs/ECL.md)" })
    .group(['dataset', 'data-root', 'imbalance', 'val-per-class', 'train-limit', 'test-limit', 'augment', 'views'], 'Data:')
    .option('model', { type: 'string', choices: MODEL_FAMILIES as unknown as string[], describe: 'backbone (default: cnn28 for Fashion-MNIST, resnet32 otherwise)' })
    .option('loss', { type: 'string', choices: lossNames(), ...d(DEFAULTS.loss), describe: 'training objective (docs/ECL.md)' })
    .option('temperature', { type: 'number', coerce: posNumber('temperature'), ...d(DEFAULTS.temperature), describe: 'contrastive temperature tau' })
    .option('la-tau', { type: 'number', coerce: nonNegNumber('la-tau'), ...d(DEFAULTS.laTau), describe: 'logit-adjustment strength tau_LA' })
    .option('lambda-bc', { type: 'number', coerce: nonNegNumber('lambda-bc'), ...d(DEFAULTS.lambdaBc), describe: 'weight of the balanced contrastive term (--loss-weights normalised: its numerator, default 0.3)' })
    .option('lambda-cc', { type: 'number', coerce: nonNegNumber('lambda-cc'), ...d(DEFAULTS.lambdaCc), describe: 'weight of the classifier-centre alignment term (--loss-weights normalised: its numerator, default 0.5)' })
    .option('bc-form', { type: 'string', choices: ['mass', 'mean-vector'], ...d('mass'), describe: "ECL's class masses: mass = mean of the members' exponentials; mean-vector = exponential of the class mean vector's score (docs/ECL.md)" })
    .option('cc-form', { type: 'string', choices: ['gram', 'direct'], ...d('gram'), describe: 'CC-GE: gram = ||W^W^T - PP^T||_F^2 / C^2; direct = ||W/||W||_F - P/||P||_F||_F (ProConDual; needs feature dim = embedding dim, as every built-in model has)' })
    .option('classifier', { type: 'string', choices: ['linear', 'cosine'], ...d(DEFAULTS.classifier), describe: "classifier head: linear (with bias) or cosine (30 * cos(h, w_c), BCL's / ProConDual's NormedLinear)" })
    .option('proj-bn', { type: 'boolean', ...d(DEFAULTS.projBn), describe: "projection head Linear-BN-ReLU-Linear (BCL's) instead of Linear-ReLU-Linear" })
    .option('loss-weights', { type: 'string', choices: ['fixed', 'normalised'], ...d(DEFAULTS.lossWeights), describe: "fixed = 1 : lambda-bc : lambda-cc; normalised = ProConDual's: after epoch 0 each term / its epoch-0 average, times 0.7 (LC), lambda-bc (default 0.3), lambda-cc (default 0.5)" })
    .group(['model', 'loss', 'temperature', 'la-tau', 'lambda-bc', 'lambda-cc', 'bc-form', 'cc-form', 'classifier', 'proj-bn', 'loss-weights'], 'Model and loss:')
    .option('epochs', { type: 'number', coerce: posInt('epochs'), ...d(DEFAULTS.epochs), describe: 'training epochs' })
    .option('batch-size', { type: 'number', coerce: intAtLeast('batch-size', 2), ...d(DEFAULTS.batchSize), describe: 'images per optimiser step' })
    .option('lr', { type: 'number', coerce: posNumber('lr'), ...d(DEFAULTS.lr), describe: 'peak learning rate (SGD)' })
    .option('momentum', { type: 'number', coerce: unitInterval('momentum'), ...d(DEFAULTS.momentum), describe: 'SGD momentum, in [0, 1)' })
    .option('weight-decay', { type: 'number', coerce: nonNegNumber('weight-decay'), ...d(DEFAULTS.weightDecay), describe: 'L2 weight decay' })
    .option('schedule', { type: 'string', choices: ['cosine', 'step'], ...d(DEFAULTS.schedule), describe: 'learning-rate schedule after the warm-up' })
    .option('warmup-epochs', { type: 'number', coerce: nonNegNumber('warmup-epochs'), ...d(DEFAULTS.warmupEpochs), describe: 'linear warm-up epochs' })
    .option('step-epochs', { type: 'array', number: true, coerce: numberList('step-epochs', 'positive integers', (x) => Number.isInteger(x) && x > 0), ...d([]), describe: 'epochs at which the step schedule divides lr by 10' })
    .option('seed', { type: 'number', coerce: nonNegInt('seed'), ...d(DEFAULTS.seed), describe: 'seed of the split, the initialisation and the batches' })
    .group(['epochs', 'batch-size', 'lr', 'momentum', 'weight-decay', 'schedule', 'warmup-epochs', 'step-epochs', 'seed'], 'Optimisation:')
    .option('name', { type: 'string', describe: 'run name: artifacts go to runs/<name>/ (default <dataset>-<loss>)' })
    .option('runs-dir', { type: 'string', ...d(DEFAULTS.runsDir), describe: 'folder that holds the run folders' })
    .option('resume', { type: 'boolean', ...d(false), describe: 'continue runs/<name> from its last checkpoint' })
    .option('overwrite', { type: 'boolean', ...d(false), describe: 'replace runs/<name> if it exists (its old files are deleted)' })
    .conflicts('resume', 'overwrite')
    .option('config', { type: 'string', describe: 'replay a run: take every setting from runs/<name>/config.json; options given here win' })
    .option('backend', { type: 'string', choices: ['auto', ...BACKENDS], ...d(DEFAULTS.backend), describe: 'tfjs backend (auto: tfjs-node-gpu, tfjs-node, webgpu on a GPU, wasm, cpu)' })
    .group(['name', 'runs-dir', 'resume', 'overwrite', 'config', 'backend'], 'Run:');

/** Option name -> TrainConfig field, for every option that is part of the run config. */
const FIELDS: Record<string, keyof TrainConfig> = {
  dataset: 'dataset',
  'data-root': 'dataRoot',
  imbalance: 'imbalance',
  model: 'model',
  loss: 'loss',
  name: 'name',
  'runs-dir': 'runsDir',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  lr: 'lr',
  momentum: 'momentum',
  'weight-decay': 'weightDecay',
  schedule: 'schedule',
  'warmup-epochs': 'warmupEpochs',
  'step-epochs': 'stepEpochs',
  temperature: 'temperature',
  'la-tau': 'laTau',
  'bc-form': 'bcForm',
  'cc-form': 'ccForm',
  'lambda-bc': 'lambdaBc',
  'lambda-cc': 'lambdaCc',
  seed: 'seed',
  backend: 'backend',
  augment: 'augment',
  'train-limit': 'trainLimit',
  'test-limit': 'testLimit',
  'val-per-class': 'valPerClass',
  views: 'views',
  classifier: 'classifier',
  'proj-bn': 'projBn',
  'loss-weights': 'lossWeights',
};

/** A run's config.json, for --config (a usage error when it cannot be read). */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--config ${path}: ${code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${path}: not JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as { dataset?: unknown }).dataset !== 'string')
    throw new UsageError(`--config ${path}: not a run config (expected an object with a "dataset", like runs/<name>/config.json)`);
  return v as Partial<TrainConfig>;
}

/** The run config: --config's file (if any), then every option given on the command line; a usage error if invalid. */
export function configFromArgs(a: Record<string, unknown>): TrainConfig {
  // --resume without --config continues with the run's own settings (config.json), so only --epochs is needed.
  const resumed = a.resume && typeof a.name === 'string' ? join(String(a['runs-dir'] ?? DEFAULTS.runsDir), a.name, RUN_FILES.config) : undefined;
  const base: Partial<TrainConfig> =
    typeof a.config === 'string' ? readConfigFile(a.config) : resumed && existsSync(resumed) ? readConfigFile(resumed) : {};
  const given: Partial<TrainConfig> = {};
  for (const [opt, field] of Object.entries(FIELDS)) if (a[opt] !== undefined) (given as Record<string, unknown>)[field] = a[opt];
  Object.assign(given, datasetConfigFromArgs(a));
  const merged = { ...base, ...given } as Partial<TrainConfig>;
  // A replayed config keeps its resolved name unless --name is given; a new run's name is <dataset>-<loss>.
  try {
    return resolveConfig({ ...merged, dataset: merged.dataset ?? 'fmnist-lt' });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const trainCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'train',
  describe: 'train a long-tail classifier',
  builder: (y) =>
    withStageHelp(trainOptions(y), 'train', [
      ['$0 train --dataset embedded --name demo --epochs 4 --batch-size 64 --lr 0.05', 'the demo run (shipped data, ~2 min on 2 cores)'],
      [`$0 train --dataset fmnist-lt --imbalance 100 --loss la-ce --epochs ${DEFAULTS.epochs}`, 'the full Fashion-MNIST-LT run (make train)'],
      ['$0 train --name demo --epochs 8 --resume', 'continue runs/demo from its last checkpoint'],
      ['$0 train --config runs/demo/config.json --name demo-again', 'replay runs/demo with the same settings'],
    ]) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const cfg = configFromArgs(a);
    const claim = claimRunFolder(runDirOf(cfg), a.resume ? 'resume' : a.overwrite ? 'overwrite' : 'new');
    if (claim.aside) console.log(`--overwrite: replacing ${runDirOf(cfg)}`);
    const { train } = await import('../train/trainer.js');
    let r: Awaited<ReturnType<typeof train>>;
    try {
      r = await train(cfg, { resume: Boolean(a.resume) });
    } catch (e) {
      claim.rollback();
      throw e;
    }
    claim.commit();
    const last = r.epochs.at(-1);
    console.log('');
    console.log(`done: ${r.runDir}  (backend ${r.backend.name}, ${r.wallSeconds.toFixed(0)} s wall, ${r.imgPerSec.toFixed(1)} img/s training)`);
    if (last) console.log(`final test top-1 ${(100 * last.test.top1).toFixed(2)}%, balanced accuracy ${(100 * last.test.balancedAccuracy).toFixed(2)}%`);
    const F = RUN_FILES;
    console.log(`artifacts: ${r.runDir}/${F.checkpoint}, ${F.config}, ${F.metrics}, ${F.runInfo}, ${F.trainSummary}`);
  },
};
