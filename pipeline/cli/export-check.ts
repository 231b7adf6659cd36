// `ecl export-check <run>`: the parity harness's strictest preset (pipeline/parity/export-check.ts).
// A mismatch is a failed check (exit 1), not an error.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { assertModelFromCheckpoint, openRun } from '../../models/artifacts/run-dir.js';
import { METADATA_KEYS, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import { BACKENDS } from '../backend/select.js';
import { posInt, requireRun, withStageHelp } from './common.js';
import { CheckFailedError, UsageError } from './errors.js';

export interface ExportCheckArgs {
  run: string;
  limit?: number;
  backend: string;
}

export const exportCheckCommand: CommandModule<object, ExportCheckArgs> = {
  command: 'export-check <run>',
  describe: 'compare the exported model with the tfjs model on the full test set',
  builder: (y) =>
    withStageHelp(
      y
        .positional('run', { type: 'string', demandOption: true, describe: 'run directory with checkpoint.ckpt and model.onnx' })
        .option('limit', { type: 'number', coerce: posInt('limit'), describe: 'compare only the first N test images (default: all)' })
        .option('backend', { type: 'string', choices: ['auto', ...BACKENDS], default: 'auto', describe: 'tfjs backend of the reference' })
        .group(['limit', 'backend'], 'Check:'),
      'export-check',
      [
        ['$0 export-check runs/demo', 'max |Δlogit| <= 1e-4, top-1 agreement 100%, same accuracy (exit 1 otherwise)'],
        ['$0 export-check runs/demo --limit 500', 'on the first 500 test images'],
      ],
    ) as unknown as Argv<ExportCheckArgs>,
  handler: async (a) => {
    requireRun(a.run, true);
    // A model exported from an older checkpoint is the user's to re-export (exit 2), not a failed check.
    const run = openRun(a.run);
    try {
      assertModelFromCheckpoint(run.paths.model, parseOnnxMetadataProps(readFileSync(run.paths.model))[METADATA_KEYS.checkpointSha256], run);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { runExportCheck } = await import('../parity/export-check.js');
    const ok = await runExportCheck(a.run, { ...(a.limit !== undefined ? { limit: a.limit } : {}), backend: a.backend });
    if (!ok) throw new CheckFailedError('export check failed: the ONNX model does not match the tfjs model (see the table above)');
  },
};
