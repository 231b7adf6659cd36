// `ecl export-check <run>`: the parity harness's strictest preset (pipeline/parity/export-check.ts).
import type { Argv, CommandModule } from 'yargs';

export interface ExportCheckArgs {
  run: string;
  limit?: number;
  backend: string;
}

export const exportCheckCommand: CommandModule<object, ExportCheckArgs> = {
  command: 'export-check <run>',
  describe: 'compare the exported model with the tfjs model on the full test set',
  builder: (y) =>
    y.positional('run', { type: 'string', demandOption: true }).option('limit', { type: 'number' }).option('backend', { type: 'string', default: 'auto' }) as unknown as Argv<ExportCheckArgs>,
  handler: async (a) => {
    const { runExportCheck } = await import('../parity/export-check.js');
    const ok = await runExportCheck(a.run, { ...(a.limit !== undefined ? { limit: a.limit } : {}), backend: a.backend });
    if (!ok) throw new Error('export check failed: the ONNX model does not match the tfjs model (see the table above)');
  },
};
