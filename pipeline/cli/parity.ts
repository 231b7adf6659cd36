// `ecl parity [run]`: the parity harness as a stage (pipeline/parity/harness.ts). Heavy modules load only when
// the command runs. A failed parity throws CheckFailedError (exit 1); bad options or inputs UsageError (exit 2).
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';
import { RUNTIMES } from '../../serve/shared/ep-policy.js';
import { nonNegInt, nonNegNumber, posInt, withStageHelp } from './common.js';
import { CheckFailedError, UsageError } from './errors.js';

/** Every row --runtimes can name (harness.ts PARITY_ROWS; listed here so the CLI loads without the harness). */
export const PARITY_ROW_NAMES = [...RUNTIMES, 'opencv-dnn', 'serve-classify'] as const;

export interface ParityArgs {
  run?: string;
  /** Deprecated alias of the positional run. */
  'run-flag'?: string;
  model?: string;
  images?: string;
  reference?: 'tfjs' | 'onnx';
  samples?: number;
  'webgpu-samples': number;
  'atol-cpu': number;
  'atol-gpu': number;
  rtol: number;
  runtimes?: string[];
  require?: string[];
  'reference-backend': string;
  'batch-size': number;
  'data-root'?: string;
  'opencv-python'?: string;
  'save-outputs'?: string;
  'load-outputs'?: string[];
  out?: string;
  quiet: boolean;
}

/** yargs coerce for a runtime list: split, then every name must be a parity row (checked before anything loads). */
function runtimeList(opt: string) {
  return (v: unknown): string[] => {
    const names = splitList(v);
    for (const r of names) if (!(PARITY_ROW_NAMES as readonly string[]).includes(r)) throw new Error(`--${opt}: unknown runtime '${r}' (expected: ${PARITY_ROW_NAMES.join(', ')})`);
    return names;
  };
}

/** "a,b c" / ["a,b", "c"] -> ["a", "b", "c"]. */
export function splitList(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return items.flatMap((x) => String(x).split(/[\s,]+/)).filter(Boolean);
}

/** parity.json path -> parity.md path next to it. */
export function markdownPathFor(jsonPath: string): string {
  const b = basename(jsonPath).replace(/\.json$/i, '');
  return join(dirname(jsonPath), `${b}.md`);
}

export const parityOptions = <T>(y: Argv<T>) =>
  y
    .positional('run', { type: 'string', describe: 'run directory with checkpoint.ckpt and model.onnx, e.g. runs/demo (optional with --model and --reference onnx)' })
    .option('run-flag', { alias: 'run', type: 'string', hidden: true, describe: 'deprecated: give the run as the positional argument' })
    .option('model', { type: 'string', describe: 'ONNX model to check (default <run>/model.onnx)' })
    .option('images', { type: 'string', describe: 'folder of PNG/JPEG/WebP files (or <label>/ subfolders): each original file through every runtime\'s own decode path' })
    .option('reference', { type: 'string', choices: ['tfjs', 'onnx'], describe: 'reference: the trained tfjs model (default with a run) or onnxruntime-node CPU on the model (default without)' })
    .option('samples', { type: 'number', coerce: posInt('samples'), describe: 'test images for the reference and the CPU/WASM runtimes (default: the whole test split)' })
    .option('webgpu-samples', { type: 'number', coerce: nonNegInt('webgpu-samples'), default: 64, describe: 'test images for the WebGPU runtimes (software WebGPU is slow; 0 = --samples)' })
    .option('atol-cpu', { type: 'number', coerce: nonNegNumber('atol-cpu'), default: 1e-4, describe: 'absolute tolerance for CPU/WASM/OpenCV runtimes' })
    .option('atol-gpu', { type: 'number', coerce: nonNegNumber('atol-gpu'), default: 1e-3, describe: 'absolute tolerance for GPU runtimes (CUDA, WebGPU)' })
    .option('rtol', { type: 'number', coerce: nonNegNumber('rtol'), default: 1e-3, describe: 'relative tolerance: pass when |a - r| <= atol + rtol*|r|' })
    .option('runtimes', { type: 'array', string: true, coerce: runtimeList('runtimes'), describe: `runtimes to check (default all): ${PARITY_ROW_NAMES.join(', ')} (serve-classify needs --images)` })
    .option('require', { type: 'array', string: true, coerce: runtimeList('require'), describe: 'runtimes that must be available (unavailable = failure), e.g. --require ort-web-webgpu' })
    .option('reference-backend', { type: 'string', choices: ['wasm', 'cpu'], default: 'wasm', describe: 'tfjs backend of the reference model' })
    .option('batch-size', { type: 'number', coerce: posInt('batch-size'), default: 64, describe: 'images per inference call on every runtime' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: the run config)' })
    .option('opencv-python', { type: 'string', describe: 'python with cv2 for the opencv-dnn row (default /usr/bin/python3)' })
    .option('save-outputs', { type: 'string', describe: "write every runtime's outputs with the model sha256 and the inputs' identity (to compare on another machine)" })
    .option('load-outputs', { type: 'array', string: true, describe: 'outputs saved by --save-outputs (e.g. on another machine): each of their runtimes becomes a row' })
    .option('out', { type: 'string', describe: 'report path (default <run>/parity.json, or parity.json next to --model; the markdown goes next to it as .md)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines' })
    .group(['model', 'images', 'reference', 'samples', 'webgpu-samples', 'data-root'], 'What is checked:')
    .group(['runtimes', 'require', 'reference-backend', 'batch-size', 'opencv-python'], 'Runtimes:')
    .group(['atol-cpu', 'atol-gpu', 'rtol'], 'Tolerances (pass when |a - r| <= atol + rtol*|r| on every logit and probability):')
    .group(['out', 'save-outputs', 'load-outputs', 'quiet'], 'Output:');

export async function parityHandler(a: ParityArgs): Promise<void> {
  const { runParity } = await import('../parity/harness.js');
  const { formatParityMarkdown } = await import('../parity/report.js');
  const { writeFileAtomic } = await import('../../models/artifacts/atomic-write.js');
  // yargs fills `run` from the positional and from the --run alias alike; only argv tells them apart.
  if (process.argv.some((x) => x === '--run' || x.startsWith('--run='))) process.stderr.write('parity: --run is deprecated; give the run as the argument: ecl parity runs/<name>\n');
  const run = a.run ?? a['run-flag'];
  const runtimes = splitList(a.runtimes);
  const required = splitList(a.require);
  for (const r of [...runtimes, ...required])
    if (!(PARITY_ROW_NAMES as readonly string[]).includes(r)) throw new UsageError(`unknown runtime '${r}' (expected: ${PARITY_ROW_NAMES.join(', ')})`);
  if (!run && !a.model) throw new UsageError('give a run (ecl parity runs/<name>) or --model model.onnx with --images DIR');
  const log = a.quiet ? undefined : (l: string) => process.stderr.write(`parity: ${l}\n`);
  const { saved, ...report } = await runParity({
    ...(run ? { runDir: run } : {}),
    ...(a.model ? { model: a.model } : {}),
    ...(a.images ? { images: a.images } : {}),
    ...(a.reference ? { reference: a.reference } : {}),
    ...(a.samples !== undefined ? { samples: a.samples } : {}),
    webgpuSamples: a['webgpu-samples'],
    atolCpu: a['atol-cpu'],
    atolGpu: a['atol-gpu'],
    rtol: a.rtol,
    runtimes: runtimes as (typeof PARITY_ROW_NAMES)[number][],
    require: required as (typeof PARITY_ROW_NAMES)[number][],
    referenceBackend: a['reference-backend'] as 'cpu' | 'wasm',
    batchSize: a['batch-size'],
    ...(a['data-root'] ? { dataRoot: a['data-root'] } : {}),
    ...(a['opencv-python'] ? { opencvPython: a['opencv-python'] } : {}),
    ...(a['load-outputs']?.length ? { loadOutputs: a['load-outputs'] } : {}),
    ...(log ? { log } : {}),
  });
  const jsonPath = a.out ?? (run ? join(run, RUN_FILES.parityJson) : join(dirname(a.model!), RUN_FILES.parityJson));
  const mdPath = markdownPathFor(jsonPath);
  const md = formatParityMarkdown(report);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileAtomic(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(mdPath, md);
  if (a['save-outputs']) {
    mkdirSync(dirname(a['save-outputs']), { recursive: true });
    writeFileAtomic(a['save-outputs'], JSON.stringify(saved) + '\n');
  }
  process.stdout.write(md);
  process.stdout.write(`\nwrote ${jsonPath} and ${mdPath}${a['save-outputs'] ? ` and ${a['save-outputs']}` : ''}\n`);
  if (!report.passed) throw new CheckFailedError(`parity failed: ${report.failures.join('; ')}`);
}

export const parityCommand: CommandModule<object, ParityArgs> = {
  command: 'parity [run]',
  describe: 'compare the exported model on every runtime (onnxruntime-node, onnxruntime-web in Chromium, OpenCV DNN, the server on raw images) with a reference',
  builder: (y) =>
    withStageHelp(parityOptions(y), 'parity', [
      ['$0 parity runs/demo', 'every runtime on the run\'s test split against the trained tfjs model (make parity)'],
      ['$0 parity runs/mine --images ~/photos', 'your original files through every runtime\'s own decode path, the server\'s /v1/classify included'],
      ['$0 parity --model m.onnx --images DIR --reference onnx', 'a model without a run: onnxruntime-node CPU is the reference'],
      ['$0 parity runs/demo --runtimes ort-node-cpu,opencv-dnn --save-outputs a.json', 'save outputs to compare with --load-outputs on another machine'],
    ]) as unknown as Argv<ParityArgs>,
  handler: parityHandler,
};
