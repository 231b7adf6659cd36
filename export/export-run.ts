// exportRun: checkpoint -> ONNX inference graph -> (validated) runs/<name>/model.onnx.
// The model is built entirely in memory; the bytes go to a temporary file next to the target, are
// validated there, and only then renamed over model.onnx, so a failure never leaves a partial or
// invalid model behind and a previous model.onnx keeps its bytes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelSpec } from '../models/spec.js';
import type { CheckpointMeta } from '../models/artifacts/checkpoint.js';
import { openRun, runPaths } from '../models/artifacts/run-dir.js';
import { removeStaleTempFiles, writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { buildMetadata } from './metadata.js';
import { ONNX_IR_VERSION, ONNX_OPSET, encodeModel, type OnnxModel } from './onnx-builder.js';
import { INPUT_NAME, OUTPUT_EMBEDDING, OUTPUT_LOGITS, OUTPUT_PROBS } from '../models/onnx-contract.js';
import { buildInferenceGraph, type GraphStats, type ParamLookup } from './op-mapping.js';
import { type ValidateOptions, type ValidationResult, validateOnnx } from './validate.js';

export const PRODUCER_NAME = 'ecl-longtail';

function producerVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export class ExportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportError';
  }
}

export interface BuildModelOptions {
  embedding?: boolean;
  /** Checkpoint metadata for metadata_props (omitted: only the spec-derived entries). */
  meta?: CheckpointMeta;
  checkpointSha256?: string;
  exportTime?: Date;
}

export interface BuiltModel {
  model: OnnxModel;
  bytes: Uint8Array;
  outputs: string[];
  opCounts: Record<string, number>;
  stats: GraphStats;
  metadata: Record<string, string>;
}

/** Builds and serialises the ONNX model for (spec, params) in memory. */
export function buildOnnxModel(spec: ModelSpec, params: ParamLookup, opts: BuildModelOptions = {}): BuiltModel {
  const embedding = opts.embedding ?? false;
  const { builder, stats } = buildInferenceGraph(spec, params, { embedding });
  const outputs = [OUTPUT_LOGITS, OUTPUT_PROBS, ...(embedding ? [OUTPUT_EMBEDDING] : [])];
  const meta: CheckpointMeta = opts.meta ?? {
    version: 1,
    spec,
    config: {},
    epoch: 0,
    step: 0,
    backend: 'unknown',
    classNames: [],
    classCounts: [],
    createdAt: '',
  };
  const metadata = buildMetadata({
    meta: { ...meta, spec },
    checkpointSha256: opts.checkpointSha256 ?? 'unknown',
    outputs,
    ...(opts.exportTime ? { exportTime: opts.exportTime } : {}),
  });
  const { height, width, channels } = spec.input;
  const model = builder.toModel({
    producerName: PRODUCER_NAME,
    producerVersion: producerVersion(),
    docString:
      `${spec.family} long-tail classifier (${spec.numClasses} classes). Input '${INPUT_NAME}': uint8 NHWC [N,${height},${width},${channels}], ` +
      `normalised in-graph as (pixel/255 - mean)/std. Outputs: 'logits' [N,${spec.numClasses}], 'probs' = softmax(logits)` +
      (embedding ? `, 'embedding' [N,${spec.embeddingDim}] (L2-normalised projection head)` : '') +
      '. BatchNorm folded into convolutions; weights converted NHWC->NCHW at export.',
    graphDoc: `backbone + classifier${embedding ? ' + projection head' : ''} exported from a tfjs ModelSpec`,
    metadata,
  });
  return { model, bytes: encodeModel(model), outputs, opCounts: builder.opCounts(), stats, metadata };
}

export interface ExportOptions {
  /** Also output the projection-head embedding [N, k] as 'embedding'. */
  embedding?: boolean;
  /** Output path (default <runDir>/model.onnx). Its directory must exist. */
  output?: string;
  /** Run the ONNX checker and an onnxruntime-node CPU smoke test before installing the file (default true). */
  validate?: boolean;
  /** Options for validateOnnx (checker interpreter, dummy batch size). */
  validateOptions?: ValidateOptions;
}

export interface ExportResult {
  path: string;
  bytes: number;
  sha256: string;
  opset: number;
  irVersion: number;
  outputs: string[];
  opCounts: Record<string, number>;
  foldedBatchNorms: number;
  metadata: Record<string, string>;
  /** Null when validation was turned off. */
  validation: ValidationResult | null;
}

/** The target's directory must exist and be a directory (checked first for a clear message). */
function checkOutputDir(output: string): void {
  const dir = dirname(output);
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`${code}: directory ${dir} ${code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'has a non-directory in its path' : 'is not accessible'}`);
  }
  if (!st.isDirectory()) throw new Error(`ENOTDIR: ${dir} is not a directory`);
  if (existsSync(output) && statSync(output).isDirectory()) throw new Error(`EISDIR: ${output} is a directory`);
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Exports runs/<name>/checkpoint.ckpt to ONNX. Throws ExportError; never leaves a partial or unvalidated file. */
export async function exportRun(runDir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const output = resolve(opts.output ?? runPaths(runDir).model);
  const fail = (what: string, e: unknown): never => {
    throw new ExportError(`ONNX export of ${runDir} failed: ${what}${msg(e)}`, { cause: e });
  };

  let built: BuiltModel;
  try {
    const run = openRun(runDir);
    const ck = run.checkpoint;
    built = buildOnnxModel(ck.meta.spec, ck.params, {
      embedding: opts.embedding ?? false,
      meta: ck.meta,
      checkpointSha256: run.checkpointSha256,
    });
  } catch (e) {
    return fail('', e);
  }

  const validate = opts.validate ?? true;
  let validation: ValidationResult | null = null;
  // Write to a temporary file next to the target (validated there when asked), then rename over it.
  // A killed export leaves its temp file behind; the next export clears what dead processes left.
  removeStaleTempFiles(dirname(output));
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.${Date.now()}.partial.onnx`);
  try {
    try {
      checkOutputDir(output);
      writeFileAtomic(tmp, built.bytes);
    } catch (e) {
      // writeFileAtomic names the temporary file; report the target instead.
      fail(`cannot write ${output}: `, new Error(msg(e).replace(`cannot write ${tmp}: `, '')));
    }
    if (validate) {
      try {
        validation = await validateOnnx(tmp, opts.validateOptions);
      } catch (e) {
        fail('the exported model did not validate (previous model left untouched): ', e);
      }
    }
    try {
      renameSync(tmp, output);
    } catch (e) {
      fail(`cannot install ${output}: `, e);
    }
  } finally {
    try {
      if (existsSync(tmp)) rmSync(tmp, { force: true });
    } catch {
      // nothing was created
    }
  }
  return {
    path: output,
    bytes: built.bytes.length,
    sha256: createHash('sha256').update(built.bytes).digest('hex'),
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    outputs: built.outputs,
    opCounts: built.opCounts,
    foldedBatchNorms: built.stats.foldedBatchNorms.length,
    metadata: built.metadata,
    validation,
  };
}

/** Human-readable summary of an export (used by the CLI). */
export function formatExportResult(r: ExportResult): string {
  const ops = Object.entries(r.opCounts)
    .map(([op, n]) => `${op}x${n}`)
    .join(' ');
  return [
    `wrote ${r.path} (${(r.bytes / 1024).toFixed(1)} KiB, sha256 ${r.sha256.slice(0, 16)}…)`,
    `  opset ${r.opset}, IR ${r.irVersion}, input pixels uint8 [N,${r.metadata.input_size?.replace(/x/g, ',')}] (NHWC), outputs ${r.outputs.join(', ')}`,
    `  ops: ${ops}`,
    `  BatchNorm folded: ${r.foldedBatchNorms}`,
    r.validation ? `  validation: onnx.checker ${r.validation.checker}; onnxruntime-node CPU ${r.validation.ortCpu}` : '  validation: off',
  ].join('\n');
}
