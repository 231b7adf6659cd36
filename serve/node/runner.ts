// Where session.run happens. onnxruntime-node's run() executes synchronously on the calling thread, so
// by default the session lives in a worker thread ('worker'): the HTTP event loop keeps parsing,
// answering health/metrics probes and queueing the next batch while the current one computes.
// 'inline' keeps the session on the main thread (fewer moving parts; used by tools and tests).
import { Worker } from 'node:worker_threads';
import type ort from 'onnxruntime-node';
import { type EpAttempt, type EpChoice, type EpName, EpUnavailableError, createSession } from './ep.js';
import type { TensorInfo } from './model-info.js';

import { SERVE_DEFAULTS, type InferenceMode } from './defaults.js';

export type { InferenceMode };

export interface OutputTensor {
  dims: number[];
  data: Float32Array;
}

export interface RunResult {
  outputs: Record<string, OutputTensor>;
  /** session.run wall time in ms. */
  computeMs: number;
}

export interface InferenceRunner {
  readonly ep: EpName;
  readonly tried: EpAttempt[];
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /** false once the runner failed irrecoverably (worker died). */
  readonly healthy: boolean;
  /** Runs uint8 NHWC pixels of `dims` ([N, H, W, C]) through the model; every output, float32. */
  run(pixels: Uint8Array, dims: number[]): Promise<RunResult>;
  close(): Promise<void>;
}

export interface RunnerOptions {
  modelPath: string;
  ep: EpChoice;
  mode?: InferenceMode;
  /** onnxruntime intra-op threads (0 = onnxruntime default). */
  intraOpThreads?: number;
  /** Let onnxruntime's threads spin briefly between parallel sections (onnxruntime's own default; ours is SERVE_DEFAULTS.ortSpin, off). */
  spin?: boolean;
  log?: (line: string) => void;
}

/** Messages between the server and serve/node/infer-worker.ts. */
export type WorkerRequest = { type: 'run'; id: number; pixels: Uint8Array; dims: number[] } | { type: 'close' };
export type WorkerReply =
  | { type: 'ready'; ep: EpName; tried: EpAttempt[]; inputs: TensorInfo[]; outputs: TensorInfo[] }
  | { type: 'initError'; message: string; tried: EpAttempt[] }
  | { type: 'log'; line: string }
  | { type: 'result'; id: number; outputs: Record<string, OutputTensor>; computeMs: number }
  | { type: 'runError'; id: number; message: string }
  | { type: 'closed' };

export interface WorkerInit {
  modelPath: string;
  ep: EpChoice;
  intraOpThreads: number;
  spin: boolean;
}

export function sessionOptionsFor(intraOpThreads: number, spin: boolean): ort.InferenceSession.SessionOptions {
  return {
    ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
    extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' }, inter_op: { allow_spinning: spin ? '1' : '0' } } },
  };
}

export function tensorInfosOf(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

/** Runs the batch and copies every output into a plain float32 array. */
export async function runSession(session: ort.InferenceSession, ortMod: typeof ort, pixels: Uint8Array, dims: number[]): Promise<RunResult> {
  const t0 = performance.now();
  const out = await session.run({ [session.inputNames[0]!]: new ortMod.Tensor('uint8', pixels, dims) });
  const computeMs = performance.now() - t0;
  const outputs: Record<string, OutputTensor> = {};
  for (const [name, t] of Object.entries(out)) {
    const tensor = t as ort.Tensor;
    const data = tensor.data instanceof Float32Array ? tensor.data.slice() : Float32Array.from(tensor.data as ArrayLike<number>);
    outputs[name] = { dims: [...tensor.dims], data };
    tensor.dispose?.();
  }
  return { outputs, computeMs };
}

class InlineRunner implements InferenceRunner {
  healthy = true;
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly ortMod: typeof ort,
    readonly ep: EpName,
    readonly tried: EpAttempt[],
  ) {}
  get inputs(): TensorInfo[] {
    return tensorInfosOf(this.session.inputMetadata);
  }
  get outputs(): TensorInfo[] {
    return tensorInfosOf(this.session.outputMetadata);
  }
  run(pixels: Uint8Array, dims: number[]): Promise<RunResult> {
    return runSession(this.session, this.ortMod, pixels, dims);
  }
  async close(): Promise<void> {
    await this.session.release();
  }
}

class WorkerRunner implements InferenceRunner {
  healthy = true;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly worker: Worker,
    readonly ep: EpName,
    readonly tried: EpAttempt[],
    readonly inputs: TensorInfo[],
    readonly outputs: TensorInfo[],
  ) {
    worker.on('message', (m: WorkerReply) => {
      if (m.type === 'result' || m.type === 'runError') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve({ outputs: m.outputs, computeMs: m.computeMs });
        else p.reject(new Error(m.message));
      }
    });
    const fail = (why: string) => {
      this.healthy = false;
      for (const p of this.pending.values()) p.reject(new Error(why));
      this.pending.clear();
    };
    worker.on('error', (e) => fail(`inference worker failed: ${e.message}`));
    worker.on('exit', (code) => fail(`inference worker exited (code ${code})`));
  }

  run(pixels: Uint8Array, dims: number[]): Promise<RunResult> {
    if (!this.healthy) return Promise.reject(new Error('inference worker is not running'));
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Transfer the batch buffer when it is ours alone (the batcher always builds a fresh one).
      const transfer = pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength && pixels.buffer instanceof ArrayBuffer ? [pixels.buffer] : [];
      this.worker.postMessage({ type: 'run', id, pixels, dims } satisfies WorkerRequest, transfer);
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        const done = () => resolve();
        this.worker.once('exit', done);
        this.worker.on('message', (m: WorkerReply) => {
          if (m.type === 'closed') void this.worker.terminate().then(done, done);
        });
        if (this.healthy) this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
        else void this.worker.terminate().then(done, done);
        setTimeout(() => void this.worker.terminate().then(done, done), 10_000).unref();
      });
    }
    return this.closing;
  }
}

async function startWorker(opts: RunnerOptions): Promise<InferenceRunner> {
  const log = opts.log ?? (() => {});
  const init: WorkerInit = { modelPath: opts.modelPath, ep: opts.ep, intraOpThreads: opts.intraOpThreads ?? 0, spin: opts.spin ?? SERVE_DEFAULTS.ortSpin };
  const worker = new Worker(new URL('./infer-worker.js', import.meta.url), { workerData: init });
  return new Promise<InferenceRunner>((resolve, reject) => {
    const onMessage = (m: WorkerReply) => {
      if (m.type === 'log') log(m.line);
      else if (m.type === 'ready') {
        cleanup();
        resolve(new WorkerRunner(worker, m.ep, m.tried, m.inputs, m.outputs));
      } else if (m.type === 'initError') {
        cleanup();
        void worker.terminate();
        reject(m.tried.length ? new EpUnavailableError(m.message, m.tried) : new Error(m.message));
      }
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new Error(`inference worker failed to start: ${e.message}`));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`inference worker exited during start (code ${code})`));
    };
    const cleanup = () => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'log') log(m.line);
      });
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Loads the model on the chosen execution provider, in a worker thread (default) or inline. */
export async function startRunner(opts: RunnerOptions): Promise<InferenceRunner> {
  if ((opts.mode ?? 'worker') === 'worker') return startWorker(opts);
  const { default: ortMod } = await import('onnxruntime-node');
  const { session, ep, tried } = await createSession(opts.modelPath, {
    ep: opts.ep,
    sessionOptions: sessionOptionsFor(opts.intraOpThreads ?? 0, opts.spin ?? SERVE_DEFAULTS.ortSpin),
    ...(opts.log ? { log: opts.log } : {}),
  });
  return new InlineRunner(session, ortMod, ep, tried);
}
