// THE one place that chooses the onnxruntime-node execution provider (server, bench, parity harness).
//
//   auto   -> CUDA, then CPU (WebGPU is never picked implicitly)
//   cuda   -> CUDA or a clear error (no silent CPU fallback)
//   webgpu -> onnxruntime-node's native WebGPU EP (Dawn; needs a GPU and Vulkan) or a clear error
//   cpu    -> CPU
//
// Every candidate is tried for real: the session is created with that provider alone and, by default,
// one warm-up batch is run, so "loaded" means "ran". Each failure is recorded with its reason.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
/** onnxruntime-node, loaded on first use (importing this module stays cheap, e.g. for `ecl --help`). */
export async function loadOrt() {
    const m = (await import('onnxruntime-node'));
    return m.default ?? m;
}
export const EP_CHOICES = ['auto', 'cuda', 'webgpu', 'cpu'];
export class EpUnavailableError extends Error {
    tried;
    constructor(message, tried) {
        super(message);
        this.name = 'EpUnavailableError';
        this.tried = tried;
    }
}
export function parseEpChoice(v) {
    const s = String(v ?? 'auto').toLowerCase();
    if (EP_CHOICES.includes(s))
        return s;
    throw new Error(`unknown execution provider '${String(v)}' (expected one of: ${EP_CHOICES.join(', ')})`);
}
/** Providers tried for a choice, in order. */
export function epOrder(choice) {
    return choice === 'auto' ? ['cuda', 'cpu'] : [choice];
}
const require = createRequire(import.meta.url);
/** onnxruntime-node's package.json path and version. */
export function ortNodePackage() {
    const pkgPath = require.resolve('onnxruntime-node/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    return { dir: dirname(pkgPath), version: pkg.version };
}
/** Folder holding onnxruntime_binding.node and where the CUDA provider libraries must go. */
export function ortBinDir() {
    return join(ortNodePackage().dir, 'bin', 'napi-v6', process.platform, process.arch);
}
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
/** Whether the CUDA provider libraries are installed next to the binding (make cuda-ep). */
export function cudaProviderStatus() {
    const dir = ortBinDir();
    if (process.platform !== 'linux' || process.arch !== 'x64')
        return { dir, present: false, missing: [...CUDA_PROVIDER_FILES] };
    const missing = CUDA_PROVIDER_FILES.filter((f) => !existsSync(join(dir, f)));
    return { dir, present: missing.length === 0, missing };
}
/** Best-effort explanation of why the CUDA provider library cannot load (missing shared libraries, no driver). */
export function diagnoseCuda() {
    const hints = [];
    if (!existsSync('/proc/driver/nvidia/version') && !existsSync('/dev/nvidiactl'))
        hints.push('no NVIDIA driver found (/proc/driver/nvidia/version absent)');
    const lib = join(ortBinDir(), CUDA_PROVIDER_FILES[0]);
    if (existsSync(lib)) {
        try {
            const out = execFileSync('ldd', [lib], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
            const missing = out
                .split('\n')
                .filter((l) => l.includes('not found'))
                .map((l) => l.trim().split(/\s+/)[0]);
            if (missing.length)
                hints.push(`missing shared libraries: ${missing.join(', ')} (install CUDA 13 + cuDNN 9 or add them to LD_LIBRARY_PATH)`);
        }
        catch {
            /* ldd unavailable: no hint */
        }
    }
    return hints.join('; ');
}
const firstLine = (e) => {
    const m = e instanceof Error ? e.message : String(e);
    return m.split('\n').find((l) => l.trim().length > 0)?.trim() ?? m;
};
function precheck(ep, ort) {
    if (ep === 'cuda') {
        if (process.platform !== 'linux' || process.arch !== 'x64')
            return `the CUDA provider of onnxruntime-node is only available on linux-x64 (this is ${process.platform}-${process.arch})`;
        const st = cudaProviderStatus();
        if (!st.present)
            return `CUDA provider not installed (${st.missing.join(', ')} missing in ${st.dir}; run 'make cuda-ep', see docs/serving.md)`;
    }
    const backends = ort.listSupportedBackends?.();
    if (backends && !backends.some((b) => b.name === ep))
        return `this onnxruntime-node build has no '${ep}' provider`;
    return null;
}
function providerConfig(ep, deviceId) {
    if (ep === 'cuda')
        return { name: 'cuda', deviceId };
    return ep;
}
/** Feeds of zeros for every tensor input (symbolic dims -> 1). */
export function zeroFeeds(session, ort) {
    const feeds = {};
    for (const m of session.inputMetadata) {
        if (!m.isTensor)
            throw new Error(`input '${m.name}' is not a tensor`);
        const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
        const n = dims.reduce((a, b) => a * b, 1);
        switch (m.type) {
            case 'uint8':
                feeds[m.name] = new ort.Tensor('uint8', new Uint8Array(n), dims);
                break;
            case 'float32':
                feeds[m.name] = new ort.Tensor('float32', new Float32Array(n), dims);
                break;
            default:
                throw new Error(`input '${m.name}' has unsupported type ${m.type}`);
        }
    }
    return feeds;
}
/**
 * Creates an onnxruntime-node session on the requested execution provider. Throws EpUnavailableError
 * (with every attempt and its reason) when no candidate loads, e.g. `--ep cuda` on a machine without
 * a GPU or without the CUDA provider libraries.
 */
export async function createSession(model, opts = {}) {
    const choice = opts.ep ?? 'auto';
    const log = opts.log ?? (() => { });
    const tried = [];
    const ort = await loadOrt();
    for (const ep of epOrder(choice)) {
        const pre = precheck(ep, ort);
        if (pre) {
            tried.push({ ep, ok: false, reason: pre });
            log(`ep ${ep}: unavailable: ${pre}`);
            continue;
        }
        let session;
        try {
            const so = { graphOptimizationLevel: 'all', ...opts.sessionOptions, executionProviders: [providerConfig(ep, opts.deviceId ?? 0)] };
            session = typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
            if (opts.warmup ?? true)
                await session.run(zeroFeeds(session, ort));
        }
        catch (e) {
            if (session)
                await session.release().catch(() => { });
            let reason = firstLine(e);
            if (ep === 'cuda') {
                const why = diagnoseCuda();
                if (why)
                    reason += ` (${why})`;
            }
            tried.push({ ep, ok: false, reason });
            log(`ep ${ep}: failed: ${reason}`);
            continue;
        }
        tried.push({ ep, ok: true, reason: 'loaded' });
        log(`ep ${ep}: loaded${tried.length > 1 ? ` (after: ${tried.filter((t) => !t.ok).map((t) => t.ep).join(', ')})` : ''}`);
        return { session, ep, tried };
    }
    const summary = tried.map((t) => `${t.ep}: ${t.reason}`).join('; ');
    throw new EpUnavailableError(`no execution provider could load the model with --ep ${choice}: ${summary}`, tried);
}
//# sourceMappingURL=ep.js.map