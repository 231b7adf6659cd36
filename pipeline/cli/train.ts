// `ecl train`: the options of a training run and their mapping onto the run config (pipeline/train/config.ts).
import type { Argv, CommandModule } from 'yargs';
import { lossNames } from '../../models/losses/registry.js';
import { MODEL_FAMILIES } from '../../models/spec.js';
import { BACKENDS } from '../backend/select.js';
import { DEFAULTS, type TrainConfig, resolveConfig } from '../train/config.js';
import { datasetConfigFromArgs, datasetOptions } from './dataset-options.js';

export const trainOptions = <T>(y: Argv<T>) =>
  datasetOptions(y)
    .option('dataset', { type: 'string', default: 'fmnist-lt', describe: 'fmnist-lt | embedded | cifar10-lt | cifar100-lt | imagenet-lt | isic2019' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: per dataset, e.g. /usr/share/datasets/fashion-mnist)' })
    .option('imbalance', { type: 'number', describe: `imbalance factor n_max/n_min (100, 50, 10; 1 = balanced; default ${DEFAULTS.imbalance}; folder/csv: your own counts)` })
    .option('model', { type: 'string', choices: MODEL_FAMILIES as unknown as string[], describe: 'backbone (default: cnn28 for Fashion-MNIST, resnet32 otherwise)' })
    .option('loss', { type: 'string', default: DEFAULTS.loss, describe: `one of: ${lossNames().join(', ')}` })
    .option('name', { type: 'string', describe: 'run name: artifacts go to runs/<name>/ (default <dataset>-<loss>)' })
    .option('runs-dir', { type: 'string', default: DEFAULTS.runsDir })
    .option('epochs', { type: 'number', default: DEFAULTS.epochs })
    .option('batch-size', { type: 'number', default: DEFAULTS.batchSize })
    .option('lr', { type: 'number', default: DEFAULTS.lr })
    .option('momentum', { type: 'number', default: DEFAULTS.momentum })
    .option('weight-decay', { type: 'number', default: DEFAULTS.weightDecay })
    .option('schedule', { type: 'string', choices: ['cosine', 'step'], default: DEFAULTS.schedule })
    .option('warmup-epochs', { type: 'number', default: DEFAULTS.warmupEpochs })
    .option('step-epochs', { type: 'array', number: true, default: [] as number[], describe: 'epochs at which the step schedule divides lr by 10' })
    .option('temperature', { type: 'number', default: DEFAULTS.temperature, describe: 'contrastive temperature tau' })
    .option('la-tau', { type: 'number', default: DEFAULTS.laTau, describe: 'logit-adjustment strength tau_LA' })
    .option('lambda-bc', { type: 'number', default: DEFAULTS.lambdaBc, describe: 'weight of the balanced contrastive term' })
    .option('lambda-cc', { type: 'number', default: DEFAULTS.lambdaCc, describe: 'weight of the classifier-centre alignment term' })
    .option('seed', { type: 'number', default: DEFAULTS.seed })
    .option('backend', { type: 'string', default: 'auto', describe: `auto | ${BACKENDS.join(' | ')}` })
    .option('augment', { type: 'boolean', default: true, describe: 'random crop + flip (+ colour jitter for RGB); --no-augment disables' })
    .option('train-limit', { type: 'number', default: 0, describe: 'use only the first N long-tail training images (smoke runs)' })
    .option('test-limit', { type: 'number', default: 0, describe: 'evaluate on at most N test images per epoch' })
    .option('val-per-class', { type: 'number', default: DEFAULTS.valPerClass })
    .option('resume', { type: 'boolean', default: false, describe: 'continue runs/<name> from its last checkpoint' });

export function configFromArgs(a: Record<string, unknown>): TrainConfig {
  return resolveConfig({
    dataset: a.dataset as string,
    dataRoot: a['data-root'] as string | undefined,
    imbalance: a.imbalance as number,
    model: a.model as TrainConfig['model'] | undefined,
    loss: a.loss as string,
    name: a.name as string | undefined,
    runsDir: a['runs-dir'] as string,
    epochs: a.epochs as number,
    batchSize: a['batch-size'] as number,
    lr: a.lr as number,
    momentum: a.momentum as number,
    weightDecay: a['weight-decay'] as number,
    schedule: a.schedule as TrainConfig['schedule'],
    warmupEpochs: a['warmup-epochs'] as number,
    stepEpochs: a['step-epochs'] as number[],
    temperature: a.temperature as number,
    laTau: a['la-tau'] as number,
    lambdaBc: a['lambda-bc'] as number,
    lambdaCc: a['lambda-cc'] as number,
    seed: a.seed as number,
    backend: a.backend as string,
    augment: a.augment as boolean,
    trainLimit: a['train-limit'] as number,
    testLimit: a['test-limit'] as number,
    valPerClass: a['val-per-class'] as number,
    ...datasetConfigFromArgs(a),
  });
}


export const trainCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'train',
  describe: 'train a long-tail classifier',
  builder: (y) => trainOptions(y) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const cfg = configFromArgs(a);
    const { train } = await import('../train/trainer.js');
    const r = await train(cfg, { resume: Boolean(a.resume) });
    const last = r.epochs.at(-1);
    console.log('');
    console.log(`done: ${r.runDir}  (backend ${r.backend.name}, ${r.wallSeconds.toFixed(0)} s wall, ${r.imgPerSec.toFixed(1)} img/s training)`);
    if (last) console.log(`final test top-1 ${(100 * last.test.top1).toFixed(2)}%, balanced accuracy ${(100 * last.test.balancedAccuracy).toFixed(2)}%`);
    const { RUN_FILES: F } = await import('../../models/artifacts/run-dir.js');
    console.log(`artifacts: ${r.runDir}/${F.checkpoint}, ${F.config}, ${F.metrics}, ${F.runInfo}, ${F.trainSummary}`);
  },
};
