// `ecl study`: every method x several seeds, then the comparison table (pipeline/train/study.ts).
import type { Argv, CommandModule } from 'yargs';
import { lossNames } from '../../models/losses/registry.js';
import { BACKENDS } from '../backend/select.js';
import { datasetNames } from '../data/registry.js';
import { STUDY_METHODS } from '../train/study.js';
import { intAtLeast, nonNegNumber, numberAtLeast, numberList, posInt, posNumber, withStageHelp } from './common.js';

const methodList = (v: unknown) => {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v]).flatMap((m) => String(m).split(',')).filter(Boolean);
  const bad = items.filter((m) => !lossNames().includes(m));
  if (!items.length || bad.length) throw new Error(`--methods: unknown '${bad.join(', ') || '(none)'}' (expected: ${lossNames().join(', ')})`);
  return items;
};

export const studyCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'study',
  describe: 'train every method for several seeds and write the comparison table (docs/results.md)',
  builder: (y) =>
    withStageHelp(
      y
        .option('dataset', { type: 'string', choices: datasetNames(), default: 'fmnist-lt', describe: 'training data of every run' })
        .option('imbalance', { type: 'number', default: 100, coerce: numberAtLeast('imbalance', 1), describe: 'imbalance factor n_max/n_min' })
        .option('epochs', { type: 'number', default: 3, coerce: posInt('epochs'), describe: 'epochs per run' })
        .option('batch-size', { type: 'number', default: 128, coerce: intAtLeast('batch-size', 2), describe: 'images per step' })
        .option('seeds', { type: 'array', number: true, default: [1, 2, 3], coerce: numberList('seeds', 'integers >= 0', (x) => Number.isInteger(x) && x >= 0), describe: 'one run per method and seed' })
        .option('methods', { type: 'array', string: true, default: STUDY_METHODS, coerce: methodList, describe: 'losses to compare (space- or comma-separated)' })
        .option('backend', { type: 'string', choices: ['auto', ...BACKENDS], default: 'wasm', describe: 'tfjs backend of every run' })
        .group(['dataset', 'imbalance', 'epochs', 'batch-size', 'seeds', 'methods', 'backend'], 'Runs:')
        .option('temperature', { type: 'number', coerce: posNumber('temperature'), describe: 'passed to every run' })
        .option('la-tau', { type: 'number', coerce: nonNegNumber('la-tau'), describe: 'passed to every run' })
        .option('lambda-bc', { type: 'number', coerce: nonNegNumber('lambda-bc'), describe: 'passed to every run' })
        .option('lambda-cc', { type: 'number', coerce: nonNegNumber('lambda-cc'), describe: 'passed to every run' })
        .option('tag', { type: 'string', describe: 'added to run names (for sweeps with these hyper-parameters)' })
        .group(['temperature', 'la-tau', 'lambda-bc', 'lambda-cc', 'tag'], 'Hyper-parameters:')
        .option('parallel', { type: 'number', default: 2, coerce: posInt('parallel'), describe: 'training processes at a time' })
        .option('runs-dir', { type: 'string', default: 'runs', describe: 'folder of the run folders (finished runs are skipped)' })
        .option('out', { type: 'string', default: 'docs/results.md', describe: 'the comparison table' })
        .group(['parallel', 'runs-dir', 'out'], 'Output:'),
      'study',
      [
        ['$0 study --dataset fmnist-lt --imbalance 100 --epochs 3 --seeds 1 2 3', 'the table in docs/results.md (hours on 2 cores)'],
        ['$0 study --dataset embedded --epochs 1 --seeds 1 --methods ce,ecl --out /tmp/study.md', 'a minute-long smoke study'],
      ],
    ) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const { runStudy } = await import('../train/study.js');
    await runStudy({
      dataset: a.dataset as string,
      imbalance: a.imbalance as number,
      epochs: a.epochs as number,
      batchSize: a['batch-size'] as number,
      seeds: a.seeds as number[],
      methods: a.methods as string[],
      parallel: a.parallel as number,
      runsDir: a['runs-dir'] as string,
      backend: a.backend as string,
      out: a.out as string,
      extraArgs: (['temperature', 'la-tau', 'lambda-bc', 'lambda-cc'] as const).flatMap((k) => (a[k] === undefined ? [] : [`--${k}`, String(a[k])])),
      tag: a.tag as string | undefined,
    });
  },
};
