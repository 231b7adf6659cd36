// `ecl serve`: the server's own options and lifecycle (serve/node/options.ts), registered as a stage.
import type { Argv, CommandModule } from 'yargs';
import { type ServeArgs, runServe, serveOptions } from '../../serve/node/options.js';

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'serve an exported model over HTTP (KServe v2 + /v1/classify + /metrics)',
  builder: (y) => serveOptions(y) as unknown as Argv<ServeArgs>,
  handler: async (a) => {
    await runServe(a);
  },
};
