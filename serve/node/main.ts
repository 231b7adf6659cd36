#!/usr/bin/env node
// Standalone entry for the server: `node dist/serve/node/main.js --model runs/<name>/model.onnx [options]`,
// the same options and behaviour as `ecl serve` (serve/node/options.ts).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type ServeArgs, runServe, serveOptions } from './options.js';

async function main(): Promise<void> {
  const a = await serveOptions(yargs(hideBin(process.argv)).scriptName('serve').usage('$0 --model runs/<name>/model.onnx [options]'))
    .strict()
    .help()
    .parseAsync();
  await runServe(a as unknown as ServeArgs);
}

main().catch((e: unknown) => {
  process.stderr.write(`serve: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
