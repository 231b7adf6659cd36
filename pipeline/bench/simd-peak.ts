// The wasm SIMD peak of this CPU: GFLOP/s of a loop of independent f32x4 multiply-adds, the ceiling for any
// kernel built from wasm SIMD128 (the training kernels in pipeline/backend/kernels/simd are). The module is
// assembled here byte by byte (no toolchain needed): 12 accumulator chains acc = acc * a + b (a < 1, so the
// values stay normal floats), unrolled 4 times per loop iteration; 12 chains cover the mul + add latency of
// the cores this ran on. One thread, then `threads` worker threads at once (the kernels' pool size).
// Where V8 has relaxed SIMD (Node 22+, or --experimental-wasm-relaxed-simd), the same loop with
// f32x4.relaxed_madd (a fused multiply-add on x86 with FMA) is measured too.
import { Worker } from 'node:worker_threads';

const CHAINS = 12;
const UNROLL = 4;
/** FLOPs of one loop iteration: chains x unroll x 4 lanes x (mul + add). */
export const FLOPS_PER_ITER = CHAINS * UNROLL * 4 * 2;

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];

/** The module: export run(iters: i32) -> f32 (the lane sum, so the loop cannot be dropped). */
export function simdPeakModule(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const SIMD = 0xfd;
  const splat = [SIMD, ...leb(0x13)];
  const add = [SIMD, ...leb(228)];
  const mul = [SIMD, ...leb(230)];
  const madd = [SIMD, ...leb(0x105)]; // f32x4.relaxed_madd
  const A = 1 + CHAINS;
  const B = A + 1;
  const body: number[] = [1, CHAINS + 2, 0x7b]; // locals: chains + a + b, all v128
  body.push(0x43, ...f32(0.999999), ...splat, 0x21, A);
  body.push(0x43, ...f32(1e-6), ...splat, 0x21, B);
  for (let i = 1; i <= CHAINS; i++) body.push(0x43, ...f32(1 + i / 16), ...splat, 0x21, i);
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 1; i <= CHAINS; i++) {
      if (relaxed) body.push(0x20, i, 0x20, A, 0x20, B, ...madd, 0x21, i);
      else body.push(0x20, i, 0x20, A, ...mul, 0x20, B, ...add, 0x21, i);
    }
  }
  // iters -= 1; br_if loop (iters != 0)
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b);
  body.push(0x20, 1);
  for (let i = 2; i <= CHAINS; i++) body.push(0x20, i, ...add);
  body.push(SIMD, ...leb(0x1f), 0, 0x0b); // f32x4.extract_lane 0; end
  const code = [1, ...leb(body.length), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, 3, ...Buffer.from('run'), 0x00, 0]),
    ...section(10, code),
  ]);
}

/** GFLOP/s of `module` on this thread for about `ms` milliseconds (after a short warm-up). */
export function measureModule(bytes: Uint8Array<ArrayBuffer>, ms: number): number {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes)) as unknown as { exports: { run(n: number): number } };
  const run = inst.exports.run;
  run(100_000);
  let iters = 1_000_000;
  let best = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    run(iters);
    const dt = performance.now() - t0;
    best = Math.max(best, (iters * FLOPS_PER_ITER) / (dt * 1e6));
    if (dt < 20) iters *= 2;
  }
  return best;
}

// A worker: instantiate the module, run it for workerData.ms, report calls and elapsed time.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const run = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes)).exports.run;
run(100000);
let sink = 0, calls = 0;
const t0 = performance.now();
while (performance.now() - t0 < workerData.ms) { sink += run(workerData.iters); calls++; }
parentPort.postMessage({ calls, dt: performance.now() - t0, sink });
`;

/** Best total GFLOP/s of `threads` worker threads running the loop at the same time. */
async function measureThreads(bytes: Uint8Array<ArrayBuffer>, threads: number, ms: number): Promise<number> {
  // Each worker counts its own calls; the total rate is the sum of per-worker rates over the same window.
  const iters = 2_000_000;
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<{ calls: number; dt: number }>((res, rej) => {
          const w = new Worker(WORKER, { eval: true, workerData: { bytes, iters, ms } });
          w.once('message', (m: { calls: number; dt: number }) => {
            res(m);
            void w.terminate();
          });
          w.once('error', rej);
        }),
    ),
  );
  return results.reduce((a, r) => a + (r.calls * iters * FLOPS_PER_ITER) / (r.dt * 1e6), 0);
}

export interface SimdPeak {
  threads: number;
  gflopsOneThread: number;
  gflopsAllThreads: number;
  relaxedMaddGflopsOneThread: number | null;
  relaxedNote: string;
}

export async function simdPeak(threads: number, ms = 600): Promise<SimdPeak> {
  const plain = simdPeakModule(false);
  if (!WebAssembly.validate(plain)) throw new Error('simd-peak: this Node has no wasm SIMD128');
  const gflopsOneThread = measureModule(plain, ms);
  const gflopsAllThreads = threads > 1 ? await measureThreads(plain, threads, ms) : gflopsOneThread;
  const relaxed = simdPeakModule(true);
  const haveRelaxed = WebAssembly.validate(relaxed);
  return {
    threads,
    gflopsOneThread,
    gflopsAllThreads,
    relaxedMaddGflopsOneThread: haveRelaxed ? measureModule(relaxed, ms) : null,
    relaxedNote: haveRelaxed ? 'f32x4.relaxed_madd available' : `f32x4.relaxed_madd not available in Node ${process.version} without --experimental-wasm-relaxed-simd`,
  };
}
