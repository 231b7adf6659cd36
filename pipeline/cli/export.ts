// `ecl export <run>`: the run's checkpoint -> runs/<name>/model.onnx (export/), validated before it is installed.
import type { Argv, CommandModule } from 'yargs';
import { requireRun, withStageHelp } from './common.js';

export interface ExportArgs {
  run: string;
  embedding: boolean;
  output?: string;
  validate: boolean;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export <run>',
  describe: 'export the run to runs/<name>/model.onnx',
  builder: (y) =>
    withStageHelp(
      y
        .positional('run', { type: 'string', demandOption: true, describe: 'run directory with checkpoint.ckpt, e.g. runs/demo' })
        .option('embedding', { type: 'boolean', default: false, describe: 'add the projection-head embedding as a third output' })
        .option('output', { type: 'string', describe: 'output path (default runs/<name>/model.onnx)' })
        .option('validate', { type: 'boolean', default: true, describe: 'run the ONNX checker and an onnxruntime smoke test (--no-validate skips both)' })
        .group(['embedding', 'output', 'validate'], 'Export:'),
      'export',
      [
        ['$0 export runs/demo', 'runs/demo/model.onnx (opset 17), checked by onnx.checker and onnxruntime'],
        ['$0 export runs/demo --embedding --output /tmp/demo-emb.onnx', 'with the embedding output, elsewhere'],
      ],
    ) as unknown as Argv<ExportArgs>,
  handler: async (a) => {
    requireRun(a.run);
    const { exportRun, formatExportResult } = await import('../../export/export-run.js');
    const r = await exportRun(a.run, { embedding: a.embedding, ...(a.output ? { output: a.output } : {}), validate: a.validate });
    console.log(formatExportResult(r));
  },
};
