// `ecl loss-probe --input in.json`: the loss terms for given tensors, to cross-check the maths.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';

export interface LossProbeArgs {
  input: string;
}

export const lossProbeCommand: CommandModule<object, LossProbeArgs> = {
  command: 'loss-probe',
  describe: 'print {"lc","bcEcl","bcl","ccGe"} for tensors given as JSON',
  builder: (y) => y.option('input', { type: 'string', demandOption: true, describe: 'JSON file (- for stdin)' }) as unknown as Argv<LossProbeArgs>,
  handler: async (a) => {
    const { selectBackend } = await import('../backend/select.js');
    await selectBackend('cpu');
    const { runLossProbe } = await import('../train/loss-probe.js');
    let text: string;
    try {
      text = a.input === '-' ? readFileSync(0, 'utf8') : readFileSync(a.input, 'utf8');
    } catch (e) {
      throw new Error(`cannot read ${a.input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
    }
    console.log(JSON.stringify(runLossProbe(text)));
  },
};
