#!/usr/bin/env node
// `ecl <stage>`: the pipeline's single entry point. Each stage lives in its own module; this file only
// parses arguments and turns any failure into one clear line on stderr and a non-zero exit code.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKENDS } from './backend.js';
import { DEFAULTS, resolveConfig } from './config.js';
import { MODEL_FAMILIES } from '../models/spec.js';
import { lossNames } from '../models/losses/registry.js';
import { stages } from './stages.js';
import { serveCommand, benchServeCommand } from '../serve/node/command.js';
import { parityCommand } from './parity/command.js';
import { STUDY_METHODS } from './study.js';
const trainOptions = (y) => y
    .option('dataset', { type: 'string', default: 'fmnist-lt', describe: 'fmnist-lt | embedded | cifar10-lt | cifar100-lt | imagenet-lt | isic2019' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: per dataset, e.g. /usr/share/datasets/fashion-mnist)' })
    .option('imbalance', { type: 'number', default: DEFAULTS.imbalance, describe: 'imbalance factor n_max/n_min (100, 50, 10; 1 = balanced)' })
    .option('model', { type: 'string', choices: MODEL_FAMILIES, describe: 'backbone (default: cnn28 for Fashion-MNIST, resnet32 otherwise)' })
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
    .option('step-epochs', { type: 'array', number: true, default: [], describe: 'epochs at which the step schedule divides lr by 10' })
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
export function configFromArgs(a) {
    return resolveConfig({
        dataset: a.dataset,
        dataRoot: a['data-root'],
        imbalance: a.imbalance,
        model: a.model,
        loss: a.loss,
        name: a.name,
        runsDir: a['runs-dir'],
        epochs: a.epochs,
        batchSize: a['batch-size'],
        lr: a.lr,
        momentum: a.momentum,
        weightDecay: a['weight-decay'],
        schedule: a.schedule,
        warmupEpochs: a['warmup-epochs'],
        stepEpochs: a['step-epochs'],
        temperature: a.temperature,
        laTau: a['la-tau'],
        lambdaBc: a['lambda-bc'],
        lambdaCc: a['lambda-cc'],
        seed: a.seed,
        backend: a.backend,
        augment: a.augment,
        trainLimit: a['train-limit'],
        testLimit: a['test-limit'],
        valPerClass: a['val-per-class'],
    });
}
async function main() {
    const cli = yargs(hideBin(process.argv))
        .scriptName('ecl')
        .usage('$0 <stage> [options]\n\nStages run in order: train -> eval -> export -> serve / parity.')
        .command('train', 'train a long-tail classifier', trainOptions, (a) => stages.train(configFromArgs(a), Boolean(a.resume)))
        .command('eval <run>', 'evaluate a run on its balanced test set', (y) => y
        .positional('run', { type: 'string', demandOption: true, describe: 'run directory, e.g. runs/fmnist-lt-la-ce' })
        .option('backend', { type: 'string', describe: 'tfjs backend (default: the run config)' })
        .option('data-root', { type: 'string' })
        .option('limit', { type: 'number', describe: 'evaluate only the first N test images' }), (a) => stages.eval(a.run, { backend: a.backend, dataRoot: a['data-root'], limit: a.limit }))
        .command('export <run>', 'export the run to runs/<name>/model.onnx', (y) => y
        .positional('run', { type: 'string', demandOption: true })
        .option('embedding', { type: 'boolean', default: false, describe: 'add the projection-head embedding as a third output' })
        .option('output', { type: 'string', describe: 'output path (default runs/<name>/model.onnx)' })
        .option('validate', { type: 'boolean', default: true, describe: 'run the ONNX checker and an onnxruntime smoke test' }), (a) => stages.export(a.run, { embedding: a.embedding, output: a.output, validate: a.validate }))
        .command('export-check <run>', 'compare the exported model with the tfjs model on the full test set', (y) => y.positional('run', { type: 'string', demandOption: true }).option('limit', { type: 'number' }).option('backend', { type: 'string', default: 'auto' }), (a) => stages.exportCheck(a.run, { limit: a.limit, backend: a.backend }))
        .command('loss-probe', 'print {"lc","bcEcl","bcl","ccGe"} for tensors given as JSON', (y) => y.option('input', { type: 'string', demandOption: true, describe: 'JSON file (- for stdin)' }), (a) => stages.lossProbe(a.input))
        .command(serveCommand)
        .command(benchServeCommand)
        .command(parityCommand)
        .command('study', 'train every method for several seeds and write the comparison table (docs/results.md)', (y) => y
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
        .option('tag', { type: 'string', describe: 'added to run names (for sweeps with --extra)' }), async (a) => {
        const { runStudy } = await import('./study.js');
        await runStudy({
            dataset: a.dataset,
            imbalance: a.imbalance,
            epochs: a.epochs,
            batchSize: a['batch-size'],
            seeds: a.seeds,
            methods: a.methods.flatMap((m) => m.split(',')).filter(Boolean),
            parallel: a.parallel,
            runsDir: a['runs-dir'],
            backend: a.backend,
            out: a.out,
            extraArgs: ['temperature', 'la-tau', 'lambda-bc', 'lambda-cc'].flatMap((k) => (a[k] === undefined ? [] : [`--${k}`, String(a[k])])),
            tag: a.tag,
        });
    })
        .demandCommand(1, 'name a stage: ecl <stage> (see --help)')
        .strict()
        .recommendCommands()
        .help()
        .fail((msg, err, y) => {
        if (err)
            throw err;
        void y;
        process.stderr.write(`ecl: ${msg}. Run 'ecl --help' for usage.\n`);
        process.exit(2);
    });
    await cli.parseAsync();
}
main().catch((e) => {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`ecl: error: ${msg}\n`);
    if (process.env.ECL_DEBUG && e instanceof Error)
        process.stderr.write(`${e.stack}\n`);
    process.exit(1);
});
//# sourceMappingURL=cli.js.map