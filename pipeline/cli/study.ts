// `ecl study`: every method x several seeds, then the comparison table (pipeline/train/study.ts).
import type { Argv, CommandModule } from 'yargs';
import { STUDY_METHODS } from '../train/study.js';

export const studyCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'study',
  describe: 'train every method for several seeds and write the comparison table (docs/results.md)',
  builder: (y) =>
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
      .option('tag', { type: 'string', describe: 'added to run names (for sweeps with --extra)' }) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const { runStudy } = await import('../train/study.js');
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
};
