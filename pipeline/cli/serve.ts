// `ecl serve`: the server's own options and lifecycle (serve/node/options.ts), registered as a stage.
import type { Argv, CommandModule } from 'yargs';
import { ServeUsageError } from '../../serve/node/errors.js';
import { type ServeArgs, runServe, serveOptions } from '../../serve/node/options.js';
import { UsageError } from './errors.js';

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'serve an exported model over HTTP (KServe v2 + /v1/classify + /metrics + the web app)',
  builder: (y) => {
    try {
      return serveOptions(y, '$0 serve') as unknown as Argv<ServeArgs>;
    } catch (e) {
      // A bad ECL_SERVE_PORT (the default of --port) is the user's to fix, as a bad --port is.
      if (e instanceof ServeUsageError) throw new UsageError(e.message);
      throw e;
    }
  },
  handler: async (a) => {
    try {
      await runServe(a);
    } catch (e) {
      // serve/ cannot import the CLI's error classes: its usage errors (missing or stale model, bad limits) exit 2.
      if (e instanceof ServeUsageError) throw new UsageError(e.message);
      throw e;
    }
  },
};
