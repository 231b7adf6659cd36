#!/usr/bin/env node
// Standalone entry for the server: `node dist/serve/node/main.js --model runs/<name>/model.onnx [options]` (or --model-repository DIR),
// the same options and behaviour as `ecl serve` (serve/node/options.ts).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ServeUsageError } from './errors.js';
import { type ServeArgs, runServe, serveOptions } from './options.js';

async function main(): Promise<void> {
  const a = await serveOptions(yargs(hideBin(process.argv)).scriptName('serve').usage('$0 --model [name=]runs/<name>/model.onnx ... | --model-repository DIR [options]'))
    .strict()
    .help()
    .fail((msg, err) => {
      if (err && err.name !== 'YError') throw err;
      process.stderr.write(`serve: ${(msg ?? err?.message ?? 'usage error').replace(/\s*\n\s*/g, ' ')}\n`);
      process.exit(2);
    })
    .parseAsync();
  await runServe(a as unknown as ServeArgs);
}

main().catch((e: unknown) => {
  process.stderr.write(`serve: error: ${e instanceof Error ? e.message : String(e)}\n`);
  // Same codes as `ecl serve`: 2 for what the user must fix (ServeUsageError), 3 for the rest.
  process.exit(e instanceof ServeUsageError ? e.exitCode : 3);
});
