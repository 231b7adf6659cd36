#!/usr/bin/env node
// `ecl <stage>`: the pipeline's single entry point. Every stage is one yargs CommandModule in pipeline/cli/;
// this file only registers them and turns any failure into one clear line on stderr and its exit code
// (pipeline/cli/errors.ts: 0 ok, 1 check failed, 2 usage error, 3 runtime error).
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchServeCommand } from './cli/bench-serve.js';
import { benchTrainCommand } from './cli/bench-train.js';
import { evalCommand } from './cli/eval.js';
import { exportCheckCommand } from './cli/export-check.js';
import { exportCommand } from './cli/export.js';
import { lossProbeCommand } from './cli/loss-probe.js';
import { parityCommand } from './cli/parity.js';
import { reportCommand } from './cli/report.js';
import { serveCommand } from './cli/serve.js';
import { studyCommand, studyReportCommand } from './cli/study.js';
import { trainCommand } from './cli/train.js';
import { settings, settingsHelp } from '../models/settings.js';
import { EXIT_CODES_HELP } from './cli/common.js';
import { EXIT, exitCodeOf } from './cli/errors.js';

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
  reportCommand,
  benchTrainCommand,
  studyCommand,
  studyReportCommand,
] as unknown as CommandModule[];

async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('ecl')
    .usage('$0 <stage> [options]\n\nStages run in order: train -> eval -> export -> export-check -> serve / parity -> report.\nEach stage has its own --help (options, examples, environment variables).');
  for (const stage of STAGES) cli = cli.command(stage);
  await cli
    .example('$0 train --dataset embedded --name demo --epochs 4', 'a short run on the shipped Fashion-MNIST-LT subset')
    .example('$0 export runs/demo && $0 export-check runs/demo', 'runs/demo/model.onnx, checked against tfjs')
    .example('$0 serve --model runs/demo/model.onnx', 'KServe v2 + /v1/classify + the web app on http://127.0.0.1:8000/')
    .example('$0 train --help', 'every training option')
    .epilogue(`${settingsHelp()}\n\n${EXIT_CODES_HELP}`)
    .demandCommand(1, 'name a stage: ecl <stage> (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      // Errors thrown by a stage's handler arrive here too: they keep their own exit code. yargs' own
      // validation (unknown option, bad choice, a coerce check) is a usage error.
      if (err && err.name !== 'YError') throw err;
      process.stderr.write(`ecl: ${(msg ?? err?.message ?? 'usage error').replace(/\s*\n\s*/g, ' ')}. Run 'ecl --help' for usage.\n`);
      process.exit(EXIT.usage);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ecl: error: ${msg}\n`);
  if (settings.debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(exitCodeOf(e));
});
