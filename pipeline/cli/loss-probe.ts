// `ecl loss-probe --input in.json`: the loss terms for given tensors, to cross-check the maths.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { withStageHelp } from './common.js';
import { UsageError } from './errors.js';

export interface LossProbeArgs {
  input: string;
}

export const lossProbeCommand: CommandModule<object, LossProbeArgs> = {
  command: 'loss-probe',
  describe: 'print {"lc","bcEcl","bcl","ccGe"} for tensors given as JSON',
  builder: (y) =>
    withStageHelp(y.option('input', { type: 'string', demandOption: true, describe: 'JSON file (- for stdin)' }).group(['input'], 'Input:'), 'loss-probe', [
      ['$0 loss-probe --input in.json', 'the four loss terms as one JSON line'],
      ['cat in.json | $0 loss-probe --input -', 'from stdin'],
    ]) as unknown as Argv<LossProbeArgs>,
  handler: async (a) => {
    let text: string;
    try {
      text = a.input === '-' ? readFileSync(0, 'utf8') : readFileSync(a.input, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${a.input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
    const { selectBackend } = await import('../backend/select.js');
    await selectBackend('cpu');
    const { LossProbeInputError, runLossProbe } = await import('../train/loss-probe.js');
    let out: unknown;
    try {
      out = runLossProbe(text);
    } catch (e) {
      // The probe's own input checks name the field; anything else stays a runtime error.
      if (e instanceof LossProbeInputError) throw new UsageError(e.message);
      throw e;
    }
    console.log(JSON.stringify(out));
  },
};
