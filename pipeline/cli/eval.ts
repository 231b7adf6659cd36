// `ecl eval <run>`: the run's checkpoint on its dataset's balanced test set -> eval.json.
import type { Argv, CommandModule } from 'yargs';
import { BACKENDS } from '../backend/select.js';
import { posInt, requireRun, withStageHelp } from './common.js';

export interface EvalArgs {
  run: string;
  backend?: string;
  'data-root'?: string;
  limit?: number;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval <run>',
  describe: 'evaluate a run on its balanced test set',
  builder: (y) =>
    withStageHelp(
      y
        .positional('run', { type: 'string', demandOption: true, describe: 'run directory, e.g. runs/fmnist-lt-la-ce' })
        .option('backend', { type: 'string', choices: ['auto', ...BACKENDS], describe: 'tfjs backend (default: the run config)' })
        .option('data-root', { type: 'string', describe: 'dataset folder (default: the run config)' })
        .option('limit', { type: 'number', coerce: posInt('limit'), describe: 'evaluate only the first N test images' })
        .group(['backend', 'data-root', 'limit'], 'Evaluation:'),
      'eval',
      [
        ['$0 eval runs/demo', 'top-1, balanced accuracy, many/medium/few-shot -> runs/demo/eval.json'],
        ['$0 eval runs/demo --limit 200 --backend cpu', 'a quick look on 200 images'],
      ],
    ) as unknown as Argv<EvalArgs>,
  handler: async (a) => {
    requireRun(a.run);
    const { evaluateRun, formatEval } = await import('../train/eval-run.js');
    const r = await evaluateRun(a.run, { backend: a.backend, dataRoot: a['data-root'], limit: a.limit });
    console.log(formatEval(r));
    console.log(`\nwrote ${r.evalPath}`);
  },
};
