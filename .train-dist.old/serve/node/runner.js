// Where session.run happens. onnxruntime-node's run() executes synchronously on the calling thread, so
// by default the session lives in a worker thread ('worker'): the HTTP event loop keeps parsing,
// answering health/metrics probes and queueing the next batch while the current one computes.
// 'inline' keeps the session on the main thread (fewer moving parts; used by tools and tests).
import { Worker } from 'node:worker_threads';
import { EpUnavailableError, createSession } from '../ep.js';
export function sessionOptionsFor(intraOpThreads, spin) {
    return {
        ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
        extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' }, inter_op: { allow_spinning: spin ? '1' : '0' } } },
    };
}
export function tensorInfosOf(meta) {
    return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}
/** Runs the batch and copies every output into a plain float32 array. */
export async function runSession(session, ortMod, pixels, dims) {
    const t0 = performance.now();
    const out = await session.run({ [session.inputNames[0]]: new ortMod.Tensor('uint8', pixels, dims) });
    const computeMs = performance.now() - t0;
    const outputs = {};
    for (const [name, t] of Object.entries(out)) {
        const tensor = t;
        const data = tensor.data instanceof Float32Array ? tensor.data.slice() : Float32Array.from(tensor.data);
        outputs[name] = { dims: [...tensor.dims], data };
        tensor.dispose?.();
    }
    return { outputs, computeMs };
}
class InlineRunner {
    session;
    ortMod;
    ep;
    tried;
    healthy = true;
    constructor(session, ortMod, ep, tried) {
        this.session = session;
        this.ortMod = ortMod;
        this.ep = ep;
        this.tried = tried;
    }
    get inputs() {
        return tensorInfosOf(this.session.inputMetadata);
    }
    get outputs() {
        return tensorInfosOf(this.session.outputMetadata);
    }
    run(pixels, dims) {
        return runSession(this.session, this.ortMod, pixels, dims);
    }
    async close() {
        await this.session.release();
    }
}
class WorkerRunner {
    worker;
    ep;
    tried;
    inputs;
    outputs;
    healthy = true;
    nextId = 1;
    pending = new Map();
    closing = null;
    constructor(worker, ep, tried, inputs, outputs) {
        this.worker = worker;
        this.ep = ep;
        this.tried = tried;
        this.inputs = inputs;
        this.outputs = outputs;
        worker.on('message', (m) => {
            if (m.type === 'result' || m.type === 'runError') {
                const p = this.pending.get(m.id);
                if (!p)
                    return;
                this.pending.delete(m.id);
                if (m.type === 'result')
                    p.resolve({ outputs: m.outputs, computeMs: m.computeMs });
                else
                    p.reject(new Error(m.message));
            }
        });
        const fail = (why) => {
            this.healthy = false;
            for (const p of this.pending.values())
                p.reject(new Error(why));
            this.pending.clear();
        };
        worker.on('error', (e) => fail(`inference worker failed: ${e.message}`));
        worker.on('exit', (code) => fail(`inference worker exited (code ${code})`));
    }
    run(pixels, dims) {
        if (!this.healthy)
            return Promise.reject(new Error('inference worker is not running'));
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            // Transfer the batch buffer when it is ours alone (the batcher always builds a fresh one).
            const transfer = pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength && pixels.buffer instanceof ArrayBuffer ? [pixels.buffer] : [];
            this.worker.postMessage({ type: 'run', id, pixels, dims }, transfer);
        });
    }
    close() {
        if (!this.closing) {
            this.closing = new Promise((resolve) => {
                const done = () => resolve();
                this.worker.once('exit', done);
                this.worker.on('message', (m) => {
                    if (m.type === 'closed')
                        void this.worker.terminate().then(done, done);
                });
                if (this.healthy)
                    this.worker.postMessage({ type: 'close' });
                else
                    void this.worker.terminate().then(done, done);
                setTimeout(() => void this.worker.terminate().then(done, done), 10_000).unref();
            });
        }
        return this.closing;
    }
}
async function startWorker(opts) {
    const log = opts.log ?? (() => { });
    const init = { modelPath: opts.modelPath, ep: opts.ep, intraOpThreads: opts.intraOpThreads ?? 0, spin: opts.spin ?? false };
    const worker = new Worker(new URL('./infer-worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
        const onMessage = (m) => {
            if (m.type === 'log')
                log(m.line);
            else if (m.type === 'ready') {
                cleanup();
                resolve(new WorkerRunner(worker, m.ep, m.tried, m.inputs, m.outputs));
            }
            else if (m.type === 'initError') {
                cleanup();
                void worker.terminate();
                reject(m.tried.length ? new EpUnavailableError(m.message, m.tried) : new Error(m.message));
            }
        };
        const onError = (e) => {
            cleanup();
            reject(new Error(`inference worker failed to start: ${e.message}`));
        };
        const onExit = (code) => {
            cleanup();
            reject(new Error(`inference worker exited during start (code ${code})`));
        };
        const cleanup = () => {
            worker.off('error', onError);
            worker.off('exit', onExit);
            worker.off('message', onMessage);
            worker.on('message', (m) => {
                if (m.type === 'log')
                    log(m.line);
            });
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
    });
}
/** Loads the model on the chosen execution provider, in a worker thread (default) or inline. */
export async function startRunner(opts) {
    if ((opts.mode ?? 'worker') === 'worker')
        return startWorker(opts);
    const { default: ortMod } = await import('onnxruntime-node');
    const { session, ep, tried } = await createSession(opts.modelPath, {
        ep: opts.ep,
        sessionOptions: sessionOptionsFor(opts.intraOpThreads ?? 0, opts.spin ?? false),
        ...(opts.log ? { log: opts.log } : {}),
    });
    return new InlineRunner(session, ortMod, ep, tried);
}
//# sourceMappingURL=runner.js.map