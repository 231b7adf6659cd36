// ONNX metadata_props: everything a consumer needs to use the model without the training code
// (labels, input contract, normalisation) plus provenance (dataset, loss, backend, commit, checkpoint).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
/** Loss hyper-parameter names (models/losses/types.ts LossHyperParams). */
const LOSS_HPARAM_KEYS = ['temperature', 'laTau', 'lambdaBc', 'lambdaCc'];
const isRecord = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The project's git commit (`git rev-parse HEAD` in the repository holding this module), or 'unknown'. */
export function gitCommit(cwd = fileURLToPath(new URL('.', import.meta.url))) {
    try {
        const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
            .toString()
            .trim();
        return /^[0-9a-f]{40,64}$/.test(out) ? out : 'unknown';
    }
    catch {
        return 'unknown';
    }
}
export function datasetOf(config) {
    const d = config.dataset ?? (isRecord(config.data) ? (config.data.dataset ?? config.data.name) : undefined);
    if (typeof d === 'string')
        return d;
    if (isRecord(d) && typeof d.name === 'string')
        return d.name;
    return d === undefined ? 'unknown' : JSON.stringify(d);
}
export function lossOf(config) {
    const l = config.loss;
    let name = 'unknown';
    let hparams = {};
    if (typeof l === 'string')
        name = l;
    else if (isRecord(l)) {
        name = typeof l.name === 'string' ? l.name : 'unknown';
        const { name: _n, ...rest } = l;
        hparams = { ...rest };
    }
    for (const key of ['lossHparams', 'lossHyperParams', 'lossParams', 'hparams']) {
        const v = config[key];
        if (isRecord(v))
            hparams = { ...hparams, ...v };
    }
    for (const key of LOSS_HPARAM_KEYS)
        if (config[key] !== undefined && hparams[key] === undefined)
            hparams[key] = config[key];
    return { name, hparams };
}
export function buildMetadata(inp) {
    const { meta } = inp;
    const spec = meta.spec;
    const { height, width, channels, mean, std } = spec.input;
    const config = isRecord(meta.config) ? meta.config : {};
    const loss = lossOf(config);
    const labels = Array.isArray(meta.classNames) && meta.classNames.length === spec.numClasses
        ? meta.classNames.map(String)
        : Array.from({ length: spec.numClasses }, (_, i) => String(i));
    const md = {
        class_labels: JSON.stringify(labels),
        num_classes: String(spec.numClasses),
        input_name: 'pixels',
        input_layout: 'NHWC',
        input_dtype: 'uint8',
        input_size: `${height}x${width}x${channels}`,
        input_shape: JSON.stringify(['N', height, width, channels]),
        normalization: JSON.stringify({ formula: '(pixel / 255 - mean[c]) / std[c]', mean, std }),
        normalization_mean: JSON.stringify(mean),
        normalization_std: JSON.stringify(std),
        outputs: JSON.stringify(inp.outputs),
        dataset: datasetOf(config),
        loss: loss.name,
        loss_hparams: JSON.stringify(loss.hparams),
        training_backend: String(meta.backend ?? 'unknown'),
        git_commit: inp.gitCommit ?? gitCommit(),
        checkpoint_sha256: inp.checkpointSha256,
        model_family: spec.family,
        feature_dim: String(spec.featureDim),
        epoch: String(meta.epoch),
        step: String(meta.step),
        export_time: (inp.exportTime ?? new Date()).toISOString(),
    };
    if (Array.isArray(meta.classCounts))
        md.class_counts = JSON.stringify(meta.classCounts);
    if (inp.outputs.includes('embedding'))
        md.embedding_dim = String(spec.embeddingDim);
    return md;
}
//# sourceMappingURL=metadata.js.map