// `ecl eval <run>`: the run's checkpoint on its dataset's balanced test set -> eval.json.
import type { Argv, CommandModule } from 'yargs';

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
    y
      .positional('run', { type: 'string', demandOption: true, describe: 'run directory, e.g. runs/fmnist-lt-la-ce' })
      .option('backend', { type: 'string', describe: 'tfjs backend (default: the run config)' })
      .option('data-root', { type: 'string' })
      .option('limit', { type: 'number', describe: 'evaluate only the first N test images' }) as unknown as Argv<EvalArgs>,
  handler: async (a) => {
    const { evaluateRun, formatEval } = await import('../train/eval-run.js');
    const r = await evaluateRun(a.run, { backend: a.backend, dataRoot: a['data-root'], limit: a.limit });
    console.log(formatEval(r));
    console.log(`\nwrote ${r.evalPath}`);
  },
};
