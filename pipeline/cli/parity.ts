// `ecl parity --run runs/<name>`: the parity harness as a stage (pipeline/parity/harness.ts). Heavy modules load
// only when the command runs. Exit code != 0 when any runtime fails (or a --require'd one is unavailable).
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';
import { RUNTIMES } from '../../serve/shared/ep-policy.js';

export interface ParityArgs {
  run: string;
  model?: string;
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
  out?: string;
  quiet: boolean;
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
    .option('run', { type: 'string', demandOption: true, describe: 'run directory with checkpoint.ckpt and model.onnx, e.g. runs/demo' })
    .option('model', { type: 'string', describe: 'ONNX model to check (default <run>/model.onnx)' })
    .option('samples', { type: 'number', describe: 'test images for the reference and the CPU/WASM runtimes (default: the whole test split)' })
    .option('webgpu-samples', { type: 'number', default: 64, describe: 'test images for the WebGPU runtimes (software WebGPU is slow; 0 = --samples)' })
    .option('atol-cpu', { type: 'number', default: 1e-4, describe: 'absolute tolerance for CPU/WASM runtimes' })
    .option('atol-gpu', { type: 'number', default: 1e-3, describe: 'absolute tolerance for GPU runtimes (CUDA, WebGPU)' })
    .option('rtol', { type: 'number', default: 1e-3, describe: 'relative tolerance: pass when |a - r| <= atol + rtol*|r|' })
    .option('runtimes', { type: 'array', string: true, describe: `runtimes to check (default all): ${RUNTIMES.join(', ')}` })
    .option('require', { type: 'array', string: true, describe: 'runtimes that must be available (unavailable = failure), e.g. --require ort-web-webgpu' })
    .option('reference-backend', { type: 'string', choices: ['wasm', 'cpu'], default: 'wasm', describe: 'tfjs backend of the reference model' })
    .option('batch-size', { type: 'number', default: 64, describe: 'images per inference call on every runtime' })
    .option('data-root', { type: 'string', describe: 'dataset folder (default: the run config)' })
    .option('out', { type: 'string', describe: 'report path (default <run>/parity.json; the markdown goes next to it as .md)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress lines' });

export async function parityHandler(a: ParityArgs): Promise<void> {
  const { runParity } = await import('../parity/harness.js');
  const { formatParityMarkdown } = await import('../parity/report.js');
  const { writeFileAtomic } = await import('../../models/artifacts/atomic-write.js');
  const runtimes = splitList(a.runtimes);
  const required = splitList(a.require);
  for (const r of [...runtimes, ...required])
    if (!(RUNTIMES as readonly string[]).includes(r)) throw new Error(`unknown runtime '${r}' (expected: ${RUNTIMES.join(', ')})`);
  const log = a.quiet ? undefined : (l: string) => process.stderr.write(`parity: ${l}\n`);
  const report = await runParity({
    runDir: a.run,
    ...(a.model ? { model: a.model } : {}),
    ...(a.samples !== undefined ? { samples: a.samples } : {}),
    webgpuSamples: a['webgpu-samples'],
    atolCpu: a['atol-cpu'],
    atolGpu: a['atol-gpu'],
    rtol: a.rtol,
    runtimes: runtimes as (typeof RUNTIMES)[number][],
    require: required as (typeof RUNTIMES)[number][],
    referenceBackend: a['reference-backend'] as 'cpu' | 'wasm',
    batchSize: a['batch-size'],
    ...(a['data-root'] ? { dataRoot: a['data-root'] } : {}),
    ...(log ? { log } : {}),
  });
  const jsonPath = a.out ?? join(a.run, RUN_FILES.parityJson);
  const mdPath = markdownPathFor(jsonPath);
  const md = formatParityMarkdown(report);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileAtomic(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(mdPath, md);
  process.stdout.write(md);
  process.stdout.write(`\nwrote ${jsonPath} and ${mdPath}\n`);
  if (!report.passed) throw new Error(`parity failed: ${report.failures.join('; ')}`);
}

export const parityCommand: CommandModule<object, ParityArgs> = {
  command: 'parity',
  describe: 'compare the exported model on every runtime (onnxruntime-node, onnxruntime-web in Chromium) with the trained tfjs model',
  builder: (y) => parityOptions(y) as unknown as Argv<ParityArgs>,
  handler: parityHandler,
};
