// Exporter self-check: the tfjs interpreter (models/forward.ts) and onnxruntime-node (CPU) on the same
// uint8 images. Backs `make export-check`.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { forwardClassifier, projectFeatures } from '../models/forward.js';
import { checkpointSha256, readCheckpoint } from '../pipeline/checkpoint.js';
import { buildOnnxModel, CHECKPOINT_FILE, MODEL_FILE } from './export-run.js';
import { decodeModel, metadataMap } from './onnx-builder.js';
import { INPUT_NAME, OUTPUT_EMBEDDING, OUTPUT_LOGITS } from './op-mapping.js';
let wasmPathsSet = false;
/**
 * Initialises a tfjs backend for inference only. (Self-contained rather than pipeline/backend.ts's
 * selectBackend, which also sets up training kernels/gradients the reference forward pass does not need.)
 */
export async function useTfjsBackend(name) {
    if (tf.getBackend() === name)
        return name;
    if (name !== 'cpu' && name !== 'wasm') {
        const { selectBackend } = await import('../pipeline/backend.js');
        return (await selectBackend(name)).tfBackend;
    }
    tf.env().set('IS_TEST', true); // no "install tfjs-node" banner
    if (name === 'cpu')
        await import('@tensorflow/tfjs-backend-cpu');
    else {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        if (!wasmPathsSet && !tf.findBackend('wasm')) {
            const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
            wasm.setWasmPaths(join(dir, 'dist') + '/');
            wasmPathsSet = true;
        }
    }
    if (!(await tf.setBackend(name)))
        throw new Error(`tfjs backend '${name}' failed to initialise`);
    await tf.ready();
    return name;
}
const argmax = (a, off, n) => {
    let best = 0;
    for (let j = 1; j < n; j++)
        if (a[off + j] > a[off + best])
            best = j;
    return best;
};
export async function compareWithTfjs(source, images, count, opts = {}) {
    let spec;
    let params;
    let onnxModel = opts.onnx;
    let onnxSource = typeof onnxModel === 'string' ? onnxModel : onnxModel ? 'bytes' : '';
    if (typeof source === 'string') {
        const ckptPath = join(source, CHECKPOINT_FILE);
        const ck = readCheckpoint(ckptPath);
        spec = ck.meta.spec;
        params = ck.params;
        const file = join(source, MODEL_FILE);
        if (!onnxModel && existsSync(file)) {
            onnxModel = file;
            onnxSource = file;
        }
        if (typeof onnxModel === 'string') {
            const md = metadataMap(decodeModel(readFileSync(onnxModel)));
            const sha = checkpointSha256(ckptPath);
            if (md.checkpoint_sha256 && md.checkpoint_sha256 !== sha)
                throw new Error(`${onnxModel} was exported from another checkpoint (sha256 ${md.checkpoint_sha256.slice(0, 12)}…, current ${sha.slice(0, 12)}…); re-export it`);
        }
    }
    else {
        ({ spec, params } = source);
    }
    if (!onnxModel) {
        onnxModel = buildOnnxModel(spec, params, { embedding: opts.embedding ?? true }).bytes;
        onnxSource = 'built in memory';
    }
    const { height: H, width: W, channels: C } = spec.input;
    const per = H * W * C;
    if (!(count > 0) || images.length < count * per)
        throw new Error(`compareWithTfjs: need ${count} images of ${H}x${W}x${C} (${count * per} bytes), got ${images.length} bytes`);
    if (opts.labels && opts.labels.length < count)
        throw new Error(`compareWithTfjs: ${opts.labels.length} labels for ${count} images`);
    const K = spec.numClasses;
    const bs = Math.max(1, opts.batchSize ?? 32);
    const sessOpts = { executionProviders: ['cpu'] };
    const session = typeof onnxModel === 'string' ? await ort.InferenceSession.create(onnxModel, sessOpts) : await ort.InferenceSession.create(onnxModel, sessOpts);
    const wantEmb = (opts.embedding ?? true) && session.outputNames.includes(OUTPUT_EMBEDDING);
    const D = spec.embeddingDim;
    const onnxLogits = new Float32Array(count * K);
    const onnxEmb = wantEmb ? new Float32Array(count * D) : null;
    try {
        const obs = bs * 4;
        for (let off = 0; off < count; off += obs) {
            const b = Math.min(obs, count - off);
            const x = new ort.Tensor('uint8', images.slice(off * per, (off + b) * per), [b, H, W, C]);
            const out = await session.run({ [INPUT_NAME]: x });
            onnxLogits.set(out[OUTPUT_LOGITS].data, off * K);
            if (onnxEmb)
                onnxEmb.set(out[OUTPUT_EMBEDDING].data, off * D);
        }
    }
    finally {
        await session.release();
    }
    // Switch tfjs to the reference backend for this comparison only; the caller's backend is restored below.
    const previousBackend = tf.getBackend();
    const backend = await useTfjsBackend(opts.backend ?? 'cpu');
    const tfLogits = new Float32Array(count * K);
    const tfEmb = wantEmb ? new Float32Array(count * D) : null;
    const pt = new Map();
    try {
        for (const [name, t] of params)
            pt.set(name, tf.tensor(t.data, t.shape, 'float32'));
        for (let off = 0; off < count; off += bs) {
            const b = Math.min(bs, count - off);
            const outs = tf.tidy(() => {
                const x = tf.tensor4d(Float32Array.from(images.subarray(off * per, (off + b) * per)), [b, H, W, C]);
                const { features, logits } = forwardClassifier(spec, pt, x, { training: false });
                return wantEmb ? [logits, projectFeatures(spec, pt, features, { training: false })] : [logits];
            });
            tfLogits.set(outs[0].dataSync(), off * K);
            if (tfEmb)
                tfEmb.set(outs[1].dataSync(), off * D);
            tf.dispose(outs);
        }
    }
    finally {
        for (const t of pt.values())
            t.dispose();
        if (previousBackend && previousBackend !== backend)
            await tf.setBackend(previousBackend);
    }
    let maxAbs = 0;
    let sumAbs = 0;
    let maxLogit = 0;
    for (let i = 0; i < tfLogits.length; i++) {
        const d = Math.abs(tfLogits[i] - onnxLogits[i]);
        if (!(d <= maxAbs))
            maxAbs = d; // NaN propagates as a failure
        sumAbs += d;
        maxLogit = Math.max(maxLogit, Math.abs(tfLogits[i]));
    }
    let agree = 0;
    let okTf = 0;
    let okOnnx = 0;
    for (let i = 0; i < count; i++) {
        const a = argmax(tfLogits, i * K, K);
        const b = argmax(onnxLogits, i * K, K);
        if (a === b)
            agree++;
        if (opts.labels) {
            const y = Number(opts.labels[i]);
            if (a === y)
                okTf++;
            if (b === y)
                okOnnx++;
        }
    }
    let maxEmb = null;
    if (tfEmb && onnxEmb) {
        maxEmb = 0;
        for (let i = 0; i < tfEmb.length; i++) {
            const d = Math.abs(tfEmb[i] - onnxEmb[i]);
            if (!(d <= maxEmb))
                maxEmb = d;
        }
    }
    return {
        count,
        maxAbsLogitDiff: maxAbs,
        meanAbs: sumAbs / tfLogits.length,
        top1Agreement: agree / count,
        accuracyTfjs: opts.labels ? okTf / count : null,
        accuracyOnnx: opts.labels ? okOnnx / count : null,
        maxAbsEmbeddingDiff: maxEmb,
        maxAbsLogit: maxLogit,
        tfjsBackend: backend,
        onnxSource,
    };
}
export const EXPORT_CHECK_MAX_LOGIT_DIFF = 1e-4;
/**
 * `make export-check`: compares tfjs (cpu) and onnxruntime-node on `count` images of a run, prints a table
 * and passes when max |Δlogit| <= 1e-4, top-1 agreement is 100% and both accuracies are identical.
 */
export async function exportCheck(runDir, images, labels, count, opts = {}) {
    const r = await compareWithTfjs(runDir, images, count, { ...opts, labels });
    const failures = [];
    const okDiff = r.maxAbsLogitDiff <= EXPORT_CHECK_MAX_LOGIT_DIFF;
    const okTop1 = r.top1Agreement === 1;
    const okAcc = r.accuracyTfjs === r.accuracyOnnx;
    if (!okDiff)
        failures.push(`max |Δlogit| ${r.maxAbsLogitDiff.toExponential(2)} > ${EXPORT_CHECK_MAX_LOGIT_DIFF}`);
    if (!okTop1)
        failures.push(`top-1 agreement ${(r.top1Agreement * 100).toFixed(2)}% < 100%`);
    if (!okAcc)
        failures.push(`accuracy differs: tfjs ${pct(r.accuracyTfjs)} vs onnx ${pct(r.accuracyOnnx)}`);
    const st = (ok) => (ok ? 'PASS' : 'FAIL');
    const rows = [
        ['max |Δlogit|', r.maxAbsLogitDiff.toExponential(2), `<= ${EXPORT_CHECK_MAX_LOGIT_DIFF.toExponential(0)}`, st(okDiff)],
        ['mean |Δlogit|', r.meanAbs.toExponential(2), '', ''],
        ['top-1 agreement', pct(r.top1Agreement), '100%', st(okTop1)],
        ['accuracy tfjs', pct(r.accuracyTfjs), '', ''],
        ['accuracy onnx', pct(r.accuracyOnnx), '= tfjs', st(okAcc)],
    ];
    if (r.maxAbsEmbeddingDiff !== null)
        rows.push(['max |Δembedding|', r.maxAbsEmbeddingDiff.toExponential(2), '', '']);
    const log = opts.log ?? ((l) => console.log(l));
    log(`export-check ${runDir}: ${r.count} images, tfjs ${r.tfjsBackend} vs onnxruntime-node cpu (${r.onnxSource})`);
    const header = ['metric', 'value', 'threshold', 'status'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    log(fmt(header));
    log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of rows)
        log(fmt(row));
    log(failures.length ? `export-check FAILED: ${failures.join('; ')}` : 'export-check passed');
    return { ...r, passed: failures.length === 0, failures };
}
function pct(x) {
    return x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`;
}
//# sourceMappingURL=compare.js.map