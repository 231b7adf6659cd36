#!/usr/bin/env node
// `ecl <stage>`: the pipeline's single entry point. Every stage is one yargs CommandModule in pipeline/cli/;
// this file only registers them and turns any failure into one clear line on stderr and a non-zero exit code.
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchServeCommand } from './cli/bench-serve.js';
import { benchTrainCommand } from './cli/bench-train.js';
import { evalCommand } from './cli/eval.js';
import { exportCheckCommand } from './cli/export-check.js';
import { exportCommand } from './cli/export.js';
import { lossProbeCommand } from './cli/loss-probe.js';
import { parityCommand } from './cli/parity.js';
import { serveCommand } from './cli/serve.js';
import { studyCommand } from './cli/study.js';
import { trainCommand } from './cli/train.js';
import { settings, settingsHelp } from '../models/settings.js';

/** In the order a run goes through them (the order `ecl --help` lists them). */
const STAGES = [
  trainCommand,
  evalCommand,
  exportCommand,
  exportCheckCommand,
  lossProbeCommand,
  serveCommand,
  benchServeCommand,
  parityCommand,
  benchTrainCommand,
  studyCommand,
] as unknown as CommandModule[];

async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('ecl')
    .usage('$0 <stage> [options]\n\nStages run in order: train -> eval -> export -> serve / parity.');
  for (const stage of STAGES) cli = cli.command(stage);
  await cli
    .epilogue(settingsHelp())
    .demandCommand(1, 'name a stage: ecl <stage> (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .fail((msg, err, y) => {
      if (err) throw err;
      void y;
      process.stderr.write(`ecl: ${msg}. Run 'ecl --help' for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ecl: error: ${msg}\n`);
  if (settings.debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
