#!/usr/bin/env node
// `ecl <stage>`: the pipeline's single entry point. Each stage lives in its own module; this file only
// parses arguments and turns any failure into one clear line on stderr and a non-zero exit code.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKENDS } from './backend.js';
import { DEFAULTS, type TrainConfig, resolveConfig } from './config.js';
import { MODEL_FAMILIES } from '../models/spec.js';
import { lossNames } from '../models/losses/registry.js';
import { stages } from './stages.js';
import { serveCommand, benchServeCommand } from '../serve/node/command.js';
import { parityCommand } from './parity/command.js';
import { benchTrainCommand } from './bench-train-command.js';
import { STUDY_METHODS } from './study.js';

const trainOptions = (y: Argv) =>
  y
    .option('dataset', { type: 'string', default: 'fmnist-lt', describe: 'fmnist-lt | embedded | cifar10-lt | cifar100-lt | imagenet-lt | isic2019' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: per dataset, e.g. /usr/share/datasets/fashion-mnist)' })
    .option('imbalance', { type: 'number', default: DEFAULTS.imbalance, describe: 'imbalance factor n_max/n_min (100, 50, 10; 1 = balanced)' })
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
  });
}

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv))
    .scriptName('ecl')
    .usage('$0 <stage> [options]\n\nStages run in order: train -> eval -> export -> serve / parity.')
    .command('train', 'train a long-tail classifier', trainOptions, (a) => stages.train(configFromArgs(a), Boolean(a.resume)))
    .command(
      'eval <run>',
      'evaluate a run on its balanced test set',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true, describe: 'run directory, e.g. runs/fmnist-lt-la-ce' })
          .option('backend', { type: 'string', describe: 'tfjs backend (default: the run config)' })
          .option('data-root', { type: 'string' })
          .option('limit', { type: 'number', describe: 'evaluate only the first N test images' }),
      (a) => stages.eval(a.run as string, { backend: a.backend as string | undefined, dataRoot: a['data-root'] as string | undefined, limit: a.limit as number | undefined }),
    )
    .command(
      'export <run>',
      'export the run to runs/<name>/model.onnx',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true })
          .option('embedding', { type: 'boolean', default: false, describe: 'add the projection-head embedding as a third output' })
          .option('output', { type: 'string', describe: 'output path (default runs/<name>/model.onnx)' })
          .option('validate', { type: 'boolean', default: true, describe: 'run the ONNX checker and an onnxruntime smoke test' }),
      (a) => stages.export(a.run as string, { embedding: a.embedding as boolean, output: a.output as string | undefined, validate: a.validate as boolean }),
    )
    .command(
      'export-check <run>',
      'compare the exported model with the tfjs model on the full test set',
      (y) => y.positional('run', { type: 'string', demandOption: true }).option('limit', { type: 'number' }).option('backend', { type: 'string', default: 'auto' }),
      (a) => stages.exportCheck(a.run as string, { limit: a.limit as number | undefined, backend: a.backend as string }),
    )
    .command(
      'loss-probe',
      'print {"lc","bcEcl","bcl","ccGe"} for tensors given as JSON',
      (y) => y.option('input', { type: 'string', demandOption: true, describe: 'JSON file (- for stdin)' }),
      (a) => stages.lossProbe(a.input as string),
    )
    .command(serveCommand as unknown as CommandModule)
    .command(benchServeCommand as unknown as CommandModule)
    .command(parityCommand as unknown as CommandModule)
    .command(benchTrainCommand as unknown as CommandModule)
    .command(
      'study',
      'train every method for several seeds and write the comparison table (docs/results.md)',
      (y) =>
        y
          .option('dataset', { type: 'string', default: 'fmnist-lt' })
          .option('imbalance', { type: 'number', default: 100 })
          .option('epochs', { type: 'number', default: 3 })
          .option('batch-size', { type: 'number', default: 128 })
          .option('seeds', { type: 'array', number: true, default: [1, 2, 3] })
          .option('methods', { type: 'array', string: true, default: STUDY_METHODS })
          .option('parallel', { type: 'number', default: 2, describe: 'training processes at a time' })
          .option('runs-dir', { type: 'string', default: 'runs' })
          .option('backend', { type: 'string', default: 'wasm' })
          .option('out', { type: 'string', default: 'docs/results.md' })
          .option('temperature', { type: 'number', describe: 'passed to every run' })
          .option('la-tau', { type: 'number', describe: 'passed to every run' })
          .option('lambda-bc', { type: 'number', describe: 'passed to every run' })
          .option('lambda-cc', { type: 'number', describe: 'passed to every run' })
          .option('tag', { type: 'string', describe: 'added to run names (for sweeps with --extra)' }),
      async (a) => {
        const { runStudy } = await import('./study.js');
        await runStudy({
          dataset: a.dataset as string,
          imbalance: a.imbalance as number,
          epochs: a.epochs as number,
          batchSize: a['batch-size'] as number,
          seeds: a.seeds as number[],
          methods: (a.methods as string[]).flatMap((m) => m.split(',')).filter(Boolean),
          parallel: a.parallel as number,
          runsDir: a['runs-dir'] as string,
          backend: a.backend as string,
          out: a.out as string,
          extraArgs: (['temperature', 'la-tau', 'lambda-bc', 'lambda-cc'] as const).flatMap((k) => (a[k] === undefined ? [] : [`--${k}`, String(a[k])])),
          tag: a.tag as string | undefined,
        });
      },
    )
    .demandCommand(1, 'name a stage: ecl <stage> (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .fail((msg, err, y) => {
      if (err) throw err;
      void y;
      process.stderr.write(`ecl: ${msg}. Run 'ecl --help' for usage.\n`);
      process.exit(2);
    });
  await cli.parseAsync();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ecl: error: ${msg}\n`);
  if (process.env.ECL_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
