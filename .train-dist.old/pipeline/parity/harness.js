// `ecl parity`: the exported model on every runtime against the model that was trained.
//
// Reference: the tfjs model (checkpoint + models/forward.ts via pipeline/evaluate.ts runInference) on the
// cpu or wasm backend. Images: the run's own dataset test split (real images), uint8 NHWC, identical bytes
// for every runtime. Runtimes: onnxruntime-node CPU / CUDA / native WebGPU (sessions through serve/ep.ts, the
// one module that picks an EP) and onnxruntime-web WASM / WebGPU in headless Chromium through the web app.
// A runtime that cannot run here is reported 'unavailable' with the reason, never dropped.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { selectBackend } from '../backend.js';
import { checkpointSha256, readCheckpoint } from '../checkpoint.js';
import { loadDataset } from '../data/registry.js';
import { subsetImageSet } from '../data/types.js';
import { runInference } from '../evaluate.js';
import { ModelState } from '../model-state.js';
import { compareOutputs, evenlySpaced, softmaxRows } from './metrics.js';
export const RUNTIMES = ['ort-node-cpu', 'ort-node-cuda', 'ort-node-webgpu', 'ort-web-wasm', 'ort-web-webgpu'];
export const RUNTIME_INFO = {
    'ort-node-cpu': { label: 'onnxruntime-node CPU', cls: 'cpu' },
    'ort-node-cuda': { label: 'onnxruntime-node CUDA', cls: 'gpu' },
    'ort-node-webgpu': { label: 'onnxruntime-node WebGPU (native)', cls: 'gpu' },
    'ort-web-wasm': { label: 'onnxruntime-web WASM (Chromium)', cls: 'cpu' },
    'ort-web-webgpu': { label: 'onnxruntime-web WebGPU (Chromium)', cls: 'gpu' },
};
export const DEFAULT_TOLERANCES = {
    cpu: { atol: 1e-4, rtol: 1e-3 },
    gpu: { atol: 1e-3, rtol: 1e-3 },
};
export const DEFAULT_WEBGPU_SAMPLES = 64;
const errText = (e) => (e instanceof Error ? e.message : String(e))
    .split('\n')
    .find((l) => l.trim())
    ?.trim()
    .slice(0, 500) ?? String(e);
function pick(set, positions) {
    const s = subsetImageSet(set, positions);
    return { images: s.images, labels: s.labels, count: s.count };
}
function sliceRows(a, rows, c) {
    const out = new Float32Array(rows.length * c);
    rows.forEach((r, i) => out.set(a.subarray(r * c, (r + 1) * c), i * c));
    return out;
}
/** Vulkan loader locations Dawn (onnxruntime-node's WebGPU EP on Linux) dlopens. */
const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];
/** Shortens onnxruntime's source-located messages and adds what is missing on this machine. */
export function cleanEpReason(ep, reason) {
    let r = reason.replace(/^\S*onnxruntime_src\S*\s+\S+\s+/, '').replace(/\s+was false\.\s*/, ': ');
    const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/.exec(reason);
    if (ep === 'webgpu' && adapter) {
        r = `no WebGPU adapter (Dawn: ${adapter[1].trim() || 'none'})`;
        if (process.platform === 'linux' && !VULKAN_LOADERS.some((p) => existsSync(p)) && !process.env.LD_LIBRARY_PATH?.length)
            r += '; libvulkan.so.1 is not installed and Dawn needs Vulkan plus a GPU driver';
        else if (!existsSync('/dev/dri') && !existsSync('/dev/nvidiactl'))
            r += '; no GPU device (/dev/dri, /dev/nvidiactl) is visible';
    }
    return r;
}
/** onnxruntime-node on one EP, through serve/ep.ts. */
async function runOrtNode(ep, modelPath, s, inputName, shape, batchSize) {
    const { createSession, EpUnavailableError } = await import('../../serve/ep.js');
    const ortMod = await import('onnxruntime-node');
    const ort = ortMod.default;
    let created;
    try {
        created = await createSession(modelPath, { ep, warmup: true });
    }
    catch (e) {
        if (e instanceof EpUnavailableError)
            return { unavailable: e.tried.map((t) => cleanEpReason(t.ep, t.reason)).join('; ') };
        throw e;
    }
    const { session } = created;
    try {
        const [H, W, Ch] = shape;
        const px = H * W * Ch;
        const logits = [];
        const probs = [];
        let ms = 0;
        for (let st = 0; st < s.count; st += batchSize) {
            const e = Math.min(s.count, st + batchSize);
            const x = new ort.Tensor('uint8', s.images.slice(st * px, e * px), [e - st, H, W, Ch]);
            const t0 = performance.now();
            const out = await session.run({ [inputName]: x });
            ms += performance.now() - t0;
            const l = out.logits?.data;
            if (!l)
                throw new Error("the model has no 'logits' output");
            logits.push(Float32Array.from(l));
            const p = out.probs?.data;
            probs.push(p ? Float32Array.from(p) : softmaxRows(l, e - st, l.length / (e - st)));
        }
        const cat = (parts) => {
            const o = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
            let off = 0;
            for (const p of parts) {
                o.set(p, off);
                off += p.length;
            }
            return o;
        };
        const epName = { cpu: 'CPUExecutionProvider', cuda: 'CUDAExecutionProvider', webgpu: 'WebGpuExecutionProvider' }[ep];
        return { out: { logits: cat(logits), probs: cat(probs) }, ms, ranOn: `${epName} (sole EP of the session)` };
    }
    finally {
        await session.release().catch(() => undefined);
    }
}
export async function runParity(opts) {
    const log = opts.log ?? (() => { });
    const runDir = opts.runDir;
    const ckptPath = join(runDir, 'checkpoint.ckpt');
    const modelPath = resolve(opts.model ?? join(runDir, 'model.onnx'));
    if (!existsSync(ckptPath))
        throw new Error(`checkpoint not found: ${ckptPath} (train the run first: ecl train ... --name <name>)`);
    if (!existsSync(modelPath))
        throw new Error(`model not found: ${modelPath} (export it first: ecl export ${runDir})`);
    const ck = readCheckpoint(ckptPath);
    const ckSha = checkpointSha256(ckptPath);
    const modelBytes = readFileSync(modelPath);
    const modelSha = createHash('sha256').update(modelBytes).digest('hex');
    const { parseOnnxMetadataProps } = await import('../../serve/shared/preprocess.js');
    const props = parseOnnxMetadataProps(modelBytes);
    if (props.checkpoint_sha256 && props.checkpoint_sha256 !== 'unknown' && props.checkpoint_sha256 !== ckSha)
        throw new Error(`${modelPath} was exported from another checkpoint (sha256 ${props.checkpoint_sha256.slice(0, 12)}…, ${ckptPath} is ${ckSha.slice(0, 12)}…); re-export it: ecl export ${runDir}`);
    const tolerances = {
        cpu: { atol: opts.atolCpu ?? DEFAULT_TOLERANCES.cpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.cpu.rtol },
        gpu: { atol: opts.atolGpu ?? DEFAULT_TOLERANCES.gpu.atol, rtol: opts.rtol ?? DEFAULT_TOLERANCES.gpu.rtol },
    };
    for (const [k, t] of Object.entries(tolerances))
        if (!(t.atol >= 0) || !(t.rtol >= 0))
            throw new Error(`${k} tolerances must be >= 0 (atol ${t.atol}, rtol ${t.rtol})`);
    const runtimes = opts.runtimes?.length ? opts.runtimes : [...RUNTIMES];
    for (const r of [...runtimes, ...(opts.require ?? [])])
        if (!RUNTIMES.includes(r))
            throw new Error(`unknown runtime '${r}' (expected: ${RUNTIMES.join(', ')})`);
    const batchSize = opts.batchSize ?? 64;
    if (!Number.isInteger(batchSize) || batchSize < 1)
        throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    // Dataset: the run's own test split.
    const cfg = ck.meta.config;
    if (!cfg.dataset)
        throw new Error(`${ckptPath}: the checkpoint's config names no dataset`);
    log(`dataset ${cfg.dataset} (test split)`);
    const data = await loadDataset(cfg.dataset, {
        imbalance: cfg.imbalance ?? 100,
        seed: cfg.seed ?? 0,
        root: opts.dataRoot ?? cfg.dataRoot,
        ...(cfg.valPerClass !== undefined ? { valPerClass: cfg.valPerClass } : {}),
    });
    const test = data.test;
    const spec = ck.meta.spec;
    if (test.height !== spec.input.height || test.width !== spec.input.width || test.channels !== spec.input.channels)
        throw new Error(`test images are ${test.height}x${test.width}x${test.channels} but the model takes ${spec.input.height}x${spec.input.width}x${spec.input.channels}`);
    const nAll = opts.samples && opts.samples > 0 ? Math.min(opts.samples, test.count) : test.count;
    const positions = evenlySpaced(test.count, nAll);
    const samples = pick(test, positions);
    const wgReq = opts.webgpuSamples ?? DEFAULT_WEBGPU_SAMPLES;
    const nGpu = wgReq > 0 ? Math.min(wgReq, nAll) : nAll;
    const gpuRows = evenlySpaced(nAll, nGpu);
    const gpuSamples = {
        images: (() => {
            const px = test.height * test.width * test.channels;
            const o = new Uint8Array(gpuRows.length * px);
            gpuRows.forEach((r, i) => o.set(samples.images.subarray(r * px, (r + 1) * px), i * px));
            return o;
        })(),
        labels: Int32Array.from(gpuRows, (r) => samples.labels[r]),
        count: gpuRows.length,
    };
    // Reference: the trained tfjs model.
    const refBackend = opts.referenceBackend ?? 'wasm';
    const backend = await selectBackend(refBackend);
    log(`reference: tfjs ${backend.name} on ${nAll} of ${test.count} test images`);
    const state = new ModelState(ck.params);
    let ref;
    let refMs;
    try {
        const t0 = performance.now();
        const r = await runInference(spec, state.params(), { images: samples.images, labels: samples.labels, count: samples.count }, { batchSize });
        refMs = performance.now() - t0;
        ref = { logits: r.logits, probs: softmaxRows(r.logits, r.count, spec.numClasses) };
    }
    finally {
        state.dispose();
    }
    const C = spec.numClasses;
    let refCorrect = 0;
    for (let i = 0; i < nAll; i++) {
        let best = 0;
        for (let j = 1; j < C; j++)
            if (ref.logits[i * C + j] > ref.logits[i * C + best])
                best = j;
        if (best === samples.labels[i])
            refCorrect++;
    }
    const refGpu = { logits: sliceRows(ref.logits, gpuRows, C), probs: sliceRows(ref.probs, gpuRows, C) };
    const inputName = props.input_name || 'pixels';
    const shape = [spec.input.height, spec.input.width, spec.input.channels];
    const results = [];
    const finish = (rt, s, r, out, ms, ranOn, extraFailures = []) => {
        const { cls, label } = RUNTIME_INFO[rt];
        const tol = tolerances[cls];
        const cmp = compareOutputs(out, r, s.labels, s.count, C, tol);
        const failures = [...extraFailures];
        if (cmp.violations)
            failures.push(`${cmp.violations} of ${2 * s.count * C} values outside atol ${tol.atol} + rtol ${tol.rtol}·|ref|`);
        if (cmp.nonFinite)
            failures.push(`${cmp.nonFinite} non-finite values`);
        return {
            runtime: rt,
            label,
            class: cls,
            status: failures.length ? 'fail' : 'pass',
            ranOn,
            ...(failures.length ? { failures } : {}),
            tolerance: tol,
            samples: s.count,
            comparison: cmp,
            inferenceMs: ms,
        };
    };
    const unavailable = (rt, reason) => ({
        runtime: rt,
        label: RUNTIME_INFO[rt].label,
        class: RUNTIME_INFO[rt].cls,
        status: 'unavailable',
        reason,
        tolerance: tolerances[RUNTIME_INFO[rt].cls],
    });
    const errored = (rt, reason) => ({ ...unavailable(rt, reason), status: 'error' });
    // onnxruntime-node
    for (const rt of runtimes.filter((r) => r.startsWith('ort-node-'))) {
        const ep = rt.slice('ort-node-'.length);
        const [s, r] = ep === 'webgpu' ? [gpuSamples, refGpu] : [samples, ref];
        log(`${rt}: ${s.count} images`);
        try {
            const res = await runOrtNode(ep, modelPath, s, inputName, shape, batchSize);
            results.push('unavailable' in res ? unavailable(rt, res.unavailable) : finish(rt, s, r, res.out, res.ms, res.ranOn));
        }
        catch (e) {
            results.push(errored(rt, errText(e)));
        }
    }
    // onnxruntime-web in Chromium
    const web = runtimes.filter((r) => r.startsWith('ort-web-'));
    if (web.length) {
        const { findChromium, chromiumMissingReason, launchChromium, openApp, runInPage, startWebServer } = await import('./browser.js');
        if (!findChromium())
            for (const rt of web)
                results.push(unavailable(rt, chromiumMissingReason()));
        else {
            let server;
            let browser;
            try {
                server = await startWebServer(modelPath);
                browser = await launchChromium({ webgpu: web.includes('ort-web-webgpu') });
                for (const rt of web) {
                    const ep = rt === 'ort-web-webgpu' ? 'webgpu' : 'wasm';
                    const [s, r] = ep === 'webgpu' ? [gpuSamples, refGpu] : [samples, ref];
                    log(`${rt}: ${s.count} images`);
                    let app;
                    try {
                        app = await openApp(browser, server.url, ep);
                        const st = app.state;
                        if (st.status !== 'ready' || st.ep !== ep) {
                            const why = st.tried.find((t) => t.ep === ep)?.reason ?? st.error ?? 'the app did not load';
                            results.push(unavailable(rt, why));
                            continue;
                        }
                        const adapter = st.adapter ? ` (adapter ${[st.adapter.vendor, st.adapter.architecture, st.adapter.description].filter(Boolean).join('/')})` : '';
                        const ranOn = `${st.placementText}${adapter}`;
                        const extra = st.allNodesOnEp ? [] : [`not every node ran on the ${ep} EP: ${st.placementText}${st.placement?.elsewhere.length ? ` (${st.placement.elsewhere.slice(0, 5).join('; ')})` : ''}`];
                        const out = await runInPage(app, s.images, s.count, batchSize);
                        if (out.ep !== ep)
                            extra.push(`the page ran on ${out.ep}, not ${ep}`);
                        results.push(finish(rt, s, r, { logits: out.logits, probs: out.probs }, out.ms, ranOn, extra));
                    }
                    catch (e) {
                        results.push(errored(rt, errText(e)));
                    }
                    finally {
                        await app?.page.close().catch(() => undefined);
                    }
                }
            }
            catch (e) {
                for (const rt of web)
                    if (!results.some((x) => x.runtime === rt))
                        results.push(errored(rt, errText(e)));
            }
            finally {
                await browser?.close().catch(() => undefined);
                await server?.close().catch(() => undefined);
            }
        }
    }
    results.sort((a, b) => RUNTIMES.indexOf(a.runtime) - RUNTIMES.indexOf(b.runtime));
    const required = new Set(opts.require ?? []);
    const failures = results.flatMap((r) => {
        if (r.status === 'fail')
            return [`${r.runtime}: ${(r.failures ?? []).join('; ')}`];
        if (r.status === 'error')
            return [`${r.runtime}: error: ${r.reason}`];
        if (r.status === 'unavailable' && required.has(r.runtime))
            return [`${r.runtime}: required but unavailable: ${r.reason}`];
        return [];
    });
    for (const rq of required)
        if (!runtimes.includes(rq))
            failures.push(`${rq}: required but not in --runtimes`);
    return {
        run: runDir,
        model: { path: modelPath, sha256: modelSha },
        checkpoint: { path: resolve(ckptPath), sha256: ckSha, epoch: ck.meta.epoch },
        dataset: { name: cfg.dataset, split: 'test', size: test.count, samples: nAll, webgpuSamples: nGpu },
        reference: { runtime: 'tfjs', backend: backend.name, accuracy: nAll ? refCorrect / nAll : 0, inferenceMs: refMs },
        tolerances,
        results,
        passed: failures.length === 0,
        failures,
        machine: { platform: process.platform, arch: process.arch, cpus: cpus().length, node: process.version },
        createdAt: new Date().toISOString(),
    };
}
//# sourceMappingURL=harness.js.map