export class QueueFullError extends Error {
    constructor(queued) {
        super(`server busy: the inference queue is full (${queued} requests waiting); retry later`);
        this.name = 'QueueFullError';
    }
}
export class ShuttingDownError extends Error {
    constructor() {
        super('server is shutting down');
        this.name = 'ShuttingDownError';
    }
}
export class DynamicBatcher {
    run;
    opts;
    queue = [];
    queuedImagesCount = 0;
    running = false;
    paused = false;
    closed = false;
    expedited = false;
    timer = null;
    immediate = null;
    idleWaiters = [];
    imageBytes;
    /** Called after every batch (metrics). */
    onBatch = null;
    constructor(run, opts) {
        this.run = run;
        this.opts = opts;
        if (!(opts.maxBatch >= 1) || !(opts.maxQueue >= 1) || !(opts.maxDelayMs >= 0))
            throw new Error('batcher: maxBatch and maxQueue must be >= 1, maxDelayMs >= 0');
        this.imageBytes = opts.imageShape[0] * opts.imageShape[1] * opts.imageShape[2];
    }
    get queuedRequests() {
        return this.queue.length;
    }
    get queuedImages() {
        return this.queuedImagesCount;
    }
    get busy() {
        return this.running;
    }
    get isClosed() {
        return this.closed;
    }
    /** Queues n images (uint8 [n, H, W, C]); resolves with this request's output rows. */
    submit(pixels, n) {
        if (this.closed)
            return Promise.reject(new ShuttingDownError());
        if (!Number.isInteger(n) || n < 1 || n > this.opts.maxBatch)
            return Promise.reject(new RangeError(`batch of ${n} images (allowed 1..${this.opts.maxBatch})`));
        if (pixels.length !== n * this.imageBytes)
            return Promise.reject(new RangeError(`pixel buffer has ${pixels.length} bytes, expected ${n * this.imageBytes}`));
        if (this.queue.length >= this.opts.maxQueue)
            return Promise.reject(new QueueFullError(this.queue.length));
        return new Promise((resolve, reject) => {
            this.queue.push({ pixels, n, enqueuedAt: performance.now(), resolve, reject });
            this.queuedImagesCount += n;
            this.schedule();
        });
    }
    /** Test/ops hook: stop starting new batches (the running one finishes). */
    pause() {
        this.paused = true;
        this.clearTimers();
    }
    resume() {
        this.paused = false;
        this.schedule();
    }
    /** Stop waiting for companions (maxDelayMs) but keep accepting requests: the first step of a shutdown. */
    expedite() {
        this.expedited = true;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        this.schedule();
    }
    /** Refuse new requests; already queued ones still run. Resolves when the queue is empty and idle. */
    close() {
        this.closed = true;
        this.paused = false;
        this.schedule();
        return this.drained();
    }
    /** Resolves once nothing is queued or running. */
    drained() {
        if (!this.running && this.queue.length === 0)
            return Promise.resolve();
        return new Promise((resolve) => this.idleWaiters.push(resolve));
    }
    clearTimers() {
        if (this.timer)
            clearTimeout(this.timer);
        if (this.immediate)
            clearImmediate(this.immediate);
        this.timer = null;
        this.immediate = null;
    }
    schedule() {
        if (this.running || this.paused || this.queue.length === 0)
            return;
        if (this.immediate)
            return;
        const full = this.queuedImagesCount >= this.opts.maxBatch;
        const wait = this.opts.maxDelayMs - (performance.now() - this.queue[0].enqueuedAt);
        if (full || this.closed || this.expedited || wait <= 0) {
            if (this.timer)
                clearTimeout(this.timer);
            this.timer = null;
            // setImmediate, not a direct call: requests parsed in the same event-loop turn join this batch.
            this.immediate = setImmediate(() => {
                this.immediate = null;
                void this.dispatch();
            });
        }
        else if (!this.timer) {
            this.timer = setTimeout(() => {
                this.timer = null;
                this.schedule();
            }, Math.max(1, Math.ceil(wait)));
        }
    }
    async dispatch() {
        if (this.running || this.paused || this.queue.length === 0)
            return;
        this.running = true;
        const jobs = [];
        let images = 0;
        while (this.queue.length && images + this.queue[0].n <= this.opts.maxBatch) {
            const j = this.queue.shift();
            jobs.push(j);
            images += j.n;
        }
        this.queuedImagesCount -= images;
        const started = performance.now();
        const queueMs = jobs.map((j) => started - j.enqueuedAt);
        let batch;
        if (jobs.length === 1)
            batch = jobs[0].pixels.slice();
        else {
            batch = new Uint8Array(images * this.imageBytes);
            let off = 0;
            for (const j of jobs) {
                batch.set(j.pixels, off);
                off += j.pixels.length;
            }
        }
        const [h, w, c] = this.opts.imageShape;
        try {
            const r = await this.run(batch, [images, h, w, c]);
            let row = 0;
            jobs.forEach((j, k) => {
                try {
                    j.resolve({ outputs: sliceRows(r.outputs, images, row, j.n), queueMs: queueMs[k], computeMs: r.computeMs, batchImages: images });
                }
                catch (e) {
                    j.reject(e);
                }
                row += j.n;
            });
            this.onBatch?.({ images, requests: jobs.length, computeMs: r.computeMs, queueMs });
        }
        catch (e) {
            const err = e instanceof Error ? e : new Error(String(e));
            for (const j of jobs)
                j.reject(err);
        }
        finally {
            this.running = false;
            if (this.queue.length)
                this.schedule();
            else if (this.idleWaiters.length) {
                const ws = this.idleWaiters;
                this.idleWaiters = [];
                for (const w of ws)
                    w();
            }
        }
    }
}
/** Rows [start, start + n) of every [N, ...] output. */
export function sliceRows(outputs, total, start, n) {
    const res = {};
    for (const [name, t] of Object.entries(outputs)) {
        if (t.dims[0] !== total)
            throw new Error(`output '${name}' has batch dimension ${t.dims[0]}, expected ${total}`);
        const per = t.data.length / total;
        res[name] = { dims: [n, ...t.dims.slice(1)], data: total === n ? t.data : t.data.subarray(start * per, (start + n) * per) };
    }
    return res;
}
//# sourceMappingURL=batcher.js.map