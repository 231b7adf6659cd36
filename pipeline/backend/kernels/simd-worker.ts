// A worker of SimdPool: instantiates the SIMD kernels on tfjs's shared memory and claims chunks of each call.
import { workerData } from 'node:worker_threads';
import { CTL, drainChunks } from './simd-protocol.js';

const { module, memory, ctl } = workerData as { module: WebAssembly.Module; memory: WebAssembly.Memory; ctl: SharedArrayBuffer };
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, (...a: number[]) => void>;
const c = new Int32Array(ctl);
// Starts from generation 0, not the current one: a call made before this worker was ready is still served.
for (let gen = 0; ; ) {
  Atomics.wait(c, CTL.GEN, gen);
  gen = Atomics.load(c, CTL.GEN);
  drainChunks(c, exports);
}
