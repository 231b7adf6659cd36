// `ecl serve`: the server's own options and lifecycle (serve/node/options.ts), registered as a stage.
import type { Argv, CommandModule } from 'yargs';
import { ServeUsageError } from '../../serve/node/errors.js';
import { type ServeArgs, runServe, serveOptions } from '../../serve/node/options.js';
import { UsageError } from './errors.js';

type ServeCliArgs = ServeArgs & { models?: string[] };

export const serveCommand: CommandModule<object, ServeCliArgs> = {
  // `ecl serve runs/mine` as `ecl export runs/mine`: positional models join --model.
  command: 'serve [models..]',
  describe: 'serve an exported model over HTTP (KServe v2 + /v1/classify + /metrics + the web app)',
  builder: (y) => {
    try {
      return serveOptions(y, '$0 serve').positional('models', {
        type: 'string',
        array: true,
        describe: 'run folders or .onnx files to serve (the same as --model each)',
      }) as unknown as Argv<ServeCliArgs>;
    } catch (e) {
      // A bad ECL_SERVE_PORT (the default of --port) is the user's to fix, as a bad --port is.
      if (e instanceof ServeUsageError) throw new UsageError(e.message);
      throw e;
    }
  },
  handler: async (a) => {
    try {
      const { models, ...rest } = a;
      await runServe({ ...rest, model: [...(rest.model ?? []), ...(models ?? [])] });
    } catch (e) {
      // serve/ cannot import the CLI's error classes: its usage errors (missing or stale model, bad limits) exit 2.
      if (e instanceof ServeUsageError) throw new UsageError(e.message);
      throw e;
    }
  },
};
