#!/usr/bin/env node
// Standalone: node dist/scripts/bench-train.js [options] (the same options as `ecl bench-train`; the benchmark
// itself is pipeline/bench/train.ts and the modules it imports).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchTrainCommand } from '../pipeline/cli/bench-train.js';

yargs(hideBin(process.argv))
  .scriptName('bench-train')
  .command({ ...benchTrainCommand, command: '$0' })
  .strict()
  .help()
  .fail((msg, err) => {
    process.stderr.write(`bench-train: ${err ? err.message : msg}\n`);
    process.exit(err ? 1 : 2);
  })
  .parseAsync()
  .catch((e: unknown) => {
    process.stderr.write(`bench-train: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
