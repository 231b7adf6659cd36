// The one module that decides which tfjs backend runs training and evaluation.
// Order: tfjs-node-gpu -> tfjs-node -> webgpu (Dawn, only with an adapter) -> wasm -> cpu.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's node bundle ships no gradient functions (its per-op ESM files cannot be loaded by Node);
// the umbrella package's bundle registers all of them on the same tfjs-core instance.
import '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
export const BACKENDS = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'];
const requireFromHere = createRequire(import.meta.url);
function errMessage(e) {
    const m = e instanceof Error ? e.message : String(e);
    return m.split('\n')[0].slice(0, 200);
}
async function tryNode(pkg) {
    try {
        requireFromHere.resolve(pkg);
    }
    catch {
        throw new Error(`${pkg} is not installed (optional dependency; it needs libtensorflow)`);
    }
    await import(pkg);
    if (!(await tf.setBackend('tensorflow')))
        throw new Error(`${pkg} loaded but the 'tensorflow' backend failed to initialise`);
    return 'tensorflow';
}
async function tryWebgpu(details) {
    let gpu;
    try {
        const webgpu = (await import('webgpu'));
        Object.assign(globalThis, webgpu.globals);
        gpu = webgpu.create([]);
    }
    catch (e) {
        throw new Error(`the webgpu (Dawn) package failed to load: ${errMessage(e)}`);
    }
    const adapter = (await gpu.requestAdapter());
    if (!adapter)
        throw new Error('no WebGPU adapter (no GPU visible to Dawn)');
    details.adapter = adapter.info?.description || adapter.info?.vendor || 'unknown';
    // tfjs-backend-webgpu reads navigator.gpu when it is imported, so set it first.
    if (!globalThis.navigator)
        Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu')))
        throw new Error('tfjs-backend-webgpu failed to initialise');
    return 'webgpu';
}
async function tryWasm(details) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = dirname(requireFromHere.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(join(dir, 'dist') + '/');
    const { registerWasmTrainingKernels } = await import('./kernels/wasm-training-kernels.js');
    const registered = registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm')))
        throw new Error('tfjs-backend-wasm failed to initialise');
    details.kernels = `custom wasm training kernels: ${registered.join(', ')}`;
    return 'wasm';
}
async function tryCpu() {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu')))
        throw new Error('cpu backend failed to initialise');
    return 'cpu';
}
export function parseBackend(name) {
    if (name === 'auto' || BACKENDS.includes(name))
        return name;
    throw new Error(`unknown backend '${name}' (expected auto or one of: ${BACKENDS.join(', ')})`);
}
let current;
/** Picks and initialises the tfjs backend; idempotent for the same request. */
export async function selectBackend(requested = 'auto') {
    const want = parseBackend(requested);
    if (current && (want === 'auto' || current.name === want))
        return current;
    const candidates = want === 'auto' ? [...BACKENDS] : [want];
    const skipped = [];
    const details = {};
    // Quiet tfjs's "hi there, install tfjs-node" banner; we report the choice ourselves.
    tf.env().set('IS_TEST', true);
    for (const name of candidates) {
        try {
            let tfBackend;
            if (name === 'tfjs-node-gpu')
                tfBackend = await tryNode('@tensorflow/tfjs-node-gpu');
            else if (name === 'tfjs-node')
                tfBackend = await tryNode('@tensorflow/tfjs-node');
            else if (name === 'webgpu')
                tfBackend = await tryWebgpu(details);
            else if (name === 'wasm')
                tfBackend = await tryWasm(details);
            else
                tfBackend = await tryCpu();
            await tf.ready();
            current = { requested, name, tfBackend, skipped, details };
            return current;
        }
        catch (e) {
            skipped.push({ name, reason: errMessage(e) });
        }
    }
    throw new Error(`no usable tfjs backend for '${requested}': ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
export function describeBackend(c) {
    const skipped = c.skipped.map((s) => `  skipped ${s.name}: ${s.reason}`).join('\n');
    const det = Object.entries(c.details)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n');
    return [`backend: ${c.name} (requested ${c.requested})`, skipped, det].filter(Boolean).join('\n');
}
//# sourceMappingURL=backend.js.map