// exportRun: checkpoint -> ONNX inference graph -> (validated) runs/<name>/model.onnx.
// The model is built entirely in memory; the bytes go to a temporary file next to the target, are
// validated there, and only then renamed over model.onnx, so a failure never leaves a partial or
// invalid model behind and a previous model.onnx keeps its bytes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { checkpointSha256, readCheckpoint } from '../pipeline/checkpoint.js';
import { writeFileAtomic } from '../pipeline/fs-atomic.js';
import { buildMetadata } from './metadata.js';
import { ONNX_IR_VERSION, ONNX_OPSET, encodeModel } from './onnx-builder.js';
import { buildInferenceGraph, OUTPUT_EMBEDDING, OUTPUT_LOGITS, OUTPUT_PROBS } from './op-mapping.js';
import { validateOnnx } from './validate.js';
export const PRODUCER_NAME = 'ecl-longtail';
export const MODEL_FILE = 'model.onnx';
export const CHECKPOINT_FILE = 'checkpoint.ckpt';
function producerVersion() {
    try {
        const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
        return pkg.version ?? '0.0.0';
    }
    catch {
        return '0.0.0';
    }
}
export class ExportError extends Error {
    constructor(message, options) {
        super(message, options);
        this.name = 'ExportError';
    }
}
/** Builds and serialises the ONNX model for (spec, params) in memory. */
export function buildOnnxModel(spec, params, opts = {}) {
    const embedding = opts.embedding ?? false;
    const { builder, stats } = buildInferenceGraph(spec, params, { embedding });
    const outputs = [OUTPUT_LOGITS, OUTPUT_PROBS, ...(embedding ? [OUTPUT_EMBEDDING] : [])];
    const meta = opts.meta ?? {
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
        docString: `${spec.family} long-tail classifier (${spec.numClasses} classes). Input 'pixels': uint8 NHWC [N,${height},${width},${channels}], ` +
            `normalised in-graph as (pixel/255 - mean)/std. Outputs: 'logits' [N,${spec.numClasses}], 'probs' = softmax(logits)` +
            (embedding ? `, 'embedding' [N,${spec.embeddingDim}] (L2-normalised projection head)` : '') +
            '. BatchNorm folded into convolutions; weights converted NHWC->NCHW at export.',
        graphDoc: `backbone + classifier${embedding ? ' + projection head' : ''} exported from a tfjs ModelSpec`,
        metadata,
    });
    return { model, bytes: encodeModel(model), outputs, opCounts: builder.opCounts(), stats, metadata };
}
/** The target's directory must exist and be a directory (checked first for a clear message). */
function checkOutputDir(output) {
    const dir = dirname(output);
    let st;
    try {
        st = statSync(dir);
    }
    catch (e) {
        const code = e.code ?? 'error';
        throw new Error(`${code}: directory ${dir} ${code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'has a non-directory in its path' : 'is not accessible'}`);
    }
    if (!st.isDirectory())
        throw new Error(`ENOTDIR: ${dir} is not a directory`);
    if (existsSync(output) && statSync(output).isDirectory())
        throw new Error(`EISDIR: ${output} is a directory`);
}
const msg = (e) => (e instanceof Error ? e.message : String(e));
/** Exports runs/<name>/checkpoint.ckpt to ONNX. Throws ExportError; never leaves a partial or unvalidated file. */
export async function exportRun(runDir, opts = {}) {
    const ckptPath = join(runDir, CHECKPOINT_FILE);
    const output = resolve(opts.output ?? join(runDir, MODEL_FILE));
    const fail = (what, e) => {
        throw new ExportError(`ONNX export of ${runDir} failed: ${what}${msg(e)}`, { cause: e });
    };
    let built;
    try {
        const ck = readCheckpoint(ckptPath);
        built = buildOnnxModel(ck.meta.spec, ck.params, {
            embedding: opts.embedding ?? false,
            meta: ck.meta,
            checkpointSha256: checkpointSha256(ckptPath),
        });
    }
    catch (e) {
        return fail('', e);
    }
    const validate = opts.validate ?? true;
    let validation = null;
    // Write to a temporary file next to the target (validated there when asked), then rename over it.
    const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.${Date.now()}.partial.onnx`);
    try {
        try {
            checkOutputDir(output);
            writeFileAtomic(tmp, built.bytes);
        }
        catch (e) {
            // writeFileAtomic names the temporary file; report the target instead.
            fail(`cannot write ${output}: `, new Error(msg(e).replace(`cannot write ${tmp}: `, '')));
        }
        if (validate) {
            try {
                validation = await validateOnnx(tmp, opts.validateOptions);
            }
            catch (e) {
                fail('the exported model did not validate (previous model left untouched): ', e);
            }
        }
        try {
            renameSync(tmp, output);
        }
        catch (e) {
            fail(`cannot install ${output}: `, e);
        }
    }
    finally {
        try {
            if (existsSync(tmp))
                rmSync(tmp, { force: true });
        }
        catch {
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
export function formatExportResult(r) {
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
//# sourceMappingURL=export-run.js.map