#!/usr/bin/env node
// Standalone entry for the parity harness: `node dist/pipeline/parity/main.js --run runs/<name> ...`, the same
// command as `ecl parity` (pipeline/cli.ts registers parityCommand). Exit code 1 on any failure, 2 on bad usage.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parityHandler, parityOptions } from './command.js';
async function main() {
    const y = yargs(hideBin(process.argv))
        .scriptName('ecl-parity')
        .strict()
        .help()
        .fail((msg, err) => {
        if (err)
            throw err;
        process.stderr.write(`ecl parity: ${msg}\n`);
        process.exit(2);
    });
    const args = (await parityOptions(y).parseAsync());
    await parityHandler(args);
}
main().catch((e) => {
    process.stderr.write(`ecl parity: error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.ECL_DEBUG && e instanceof Error)
        process.stderr.write(`${e.stack}\n`);
    process.exit(1);
});
//# sourceMappingURL=main.js.map