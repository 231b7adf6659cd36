// Dynamic batching. Requests (each holding 1..maxBatch images) wait in a bounded FIFO. When the runner is
// idle the batcher takes, in arrival order, as many whole requests as fit in maxBatch images and runs them
// together:
//   - at once when maxBatch images are waiting, or when maxDelayMs is 0 ("run as soon as idle": under
//     load, everything that arrived while the previous batch computed forms the next batch);
//   - otherwise when the oldest waiting request has waited maxDelayMs.
// Pipelining (maxPendingBatches, default 2): while a batch computes, a *full* batch waiting is handed to the
// runner too, which starts it the moment the first finishes. Under overload the event loop is busy refusing
// requests and would otherwise leave the model idle between batches until it came round to dispatch; a
// partial batch still waits for the runner (that is when more requests join it).
// A full queue (maxQueue requests waiting, not counting the running batch) refuses new requests with
// QueueFullError (HTTP 503 + Retry-After); after close() new requests get ShuttingDownError while
// everything already accepted still runs.
import { BatchCostModel } from './batch-cost.js';
import type { OutputTensor, RunResult } from './runner.js';

export interface BatcherOptions {
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
  /** Shed a request that arrived longer ago than this when its batch would form (0 = never; Triton's default_timeout_microseconds with REJECT). */
  queueTimeoutMs?: number;
  /** [H, W, C] of one image. */
  imageShape: readonly [number, number, number];
  /** Batches handed to the runner at once: 1 = strictly one at a time; 2 (default) = a full batch may wait in the runner behind the computing one. */
  maxPendingBatches?: number;
}

export interface BatchStats {
  images: number;
  requests: number;
  computeMs: number;
  queueMs: number[];
}

export interface SubmitResult {
  /** This request's rows of every output. */
  outputs: Record<string, OutputTensor>;
  queueMs: number;
  computeMs: number;
  /** Images in the batch this request ran in. */
  batchImages: number;
}

export class QueueFullError extends Error {
  constructor(queued: number) {
    super(`server busy: the inference queue is full (${queued} requests waiting); retry later`);
    this.name = 'QueueFullError';
  }
}

export class QueueTimeoutError extends Error {
  constructor(waitedMs: number, limitMs: number) {
    super(`server busy: the request waited ${Math.round(waitedMs)} ms, longer than the queue deadline of ${limitMs} ms (--queue-timeout-ms); retry later`);
    this.name = 'QueueTimeoutError';
  }
}

export class ShuttingDownError extends Error {
  constructor() {
    super('server is shutting down');
    this.name = 'ShuttingDownError';
  }
}

interface Job {
  pixels: Uint8Array;
  n: number;
  enqueuedAt: number;
  /** Arrival of the request (performance.now()), the start of its queue deadline. */
  arrivedAt: number;
  resolve: (r: SubmitResult) => void;
  reject: (e: Error) => void;
}

type RunFn = (pixels: Uint8Array, dims: number[]) => Promise<RunResult>;

export class DynamicBatcher {
  private readonly queue: Job[] = [];
  private queuedImagesCount = 0;
  /** Batches handed to the runner and not yet answered. */
  private running = 0;
  private readonly maxPending: number;
  /** Images in the batches handed to the runner. */
  private pendingImages = 0;
  /** What a batch of n images takes (batch-cost.ts): calibrated at load, rescaled by every batch. */
  readonly cost = new BatchCostModel();
  private paused = false;
  private closed = false;
  private expedited = false;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private idleWaiters: Array<() => void> = [];
  readonly imageBytes: number;
  /** Called after every batch (metrics). */
  onBatch: ((s: BatchStats) => void) | null = null;

  constructor(
    private readonly run: RunFn,
    readonly opts: BatcherOptions,
  ) {
    this.maxPending = opts.maxPendingBatches ?? 2;
    if (!(opts.maxBatch >= 1) || !(opts.maxQueue >= 1) || !(opts.maxDelayMs >= 0) || !(Number.isInteger(this.maxPending) && this.maxPending >= 1))
      throw new Error('batcher: maxBatch, maxQueue and maxPendingBatches must be >= 1, maxDelayMs >= 0');
    this.imageBytes = opts.imageShape[0] * opts.imageShape[1] * opts.imageShape[2];
  }

  get queuedRequests(): number {
    return this.queue.length;
  }
  get queuedImages(): number {
    return this.queuedImagesCount;
  }
  get busy(): boolean {
    return this.running > 0;
  }
  /**
   * How long a request arriving now would wait before its batch starts: the batches handed to the runner (run
   * one after the other) plus the full batches of waiting images ahead of it (it joins the partial one behind
   * them). An over-estimate by the computing batch's finished part, which is what a deadline check wants.
   */
  get expectedWaitMs(): number {
    const fullAhead = Math.floor(this.queuedImagesCount / this.opts.maxBatch);
    return this.cost.timeMs(this.running, this.pendingImages) + this.cost.timeMs(fullAhead, fullAhead * this.opts.maxBatch);
  }
  /** A request arriving now would, by expectedWaitMs, miss the queue deadline: admission refuses it before reading its body. */
  get wouldMissDeadline(): boolean {
    const limit = this.opts.queueTimeoutMs ?? 0;
    return limit > 0 && this.expectedWaitMs > limit;
  }
  /** Batches handed to the runner and not yet answered (at most maxPendingBatches). */
  get pendingBatches(): number {
    return this.running;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues n images (uint8 [n, H, W, C]); resolves with this request's output rows. `arrivedAt` (default now) starts the queue deadline. */
  submit(pixels: Uint8Array, n: number, arrivedAt = performance.now()): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    if (!Number.isInteger(n) || n < 1 || n > this.opts.maxBatch) return Promise.reject(new RangeError(`batch of ${n} images (allowed 1..${this.opts.maxBatch})`));
    if (pixels.length !== n * this.imageBytes) return Promise.reject(new RangeError(`pixel buffer has ${pixels.length} bytes, expected ${n * this.imageBytes}`));
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.queue.length));
    const limit = this.opts.queueTimeoutMs ?? 0;
    const now = performance.now();
    if (limit > 0 && now - arrivedAt > limit) return Promise.reject(new QueueTimeoutError(now - arrivedAt, limit));
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ pixels, n, enqueuedAt: now, arrivedAt, resolve, reject });
      this.queuedImagesCount += n;
      this.schedule();
    });
  }

  /**
   * Times zero-filled batches of 1 and maxBatch images (the fastest of `rounds` each, after one unmeasured
   * full batch) to give the deadline check the fixed and per-image cost of a batch. Call before any submit.
   */
  async calibrate(rounds = 2): Promise<void> {
    const [h, w, c] = this.opts.imageShape;
    const sizes = this.opts.maxBatch > 1 ? [1, this.opts.maxBatch] : [1];
    await this.run(new Uint8Array(this.opts.maxBatch * this.imageBytes), [this.opts.maxBatch, h, w, c]);
    const timings: Array<{ n: number; ms: number }> = [];
    for (let k = 0; k < rounds; k++)
      for (const n of sizes) timings.push({ n, ms: (await this.run(new Uint8Array(n * this.imageBytes), [n, h, w, c])).computeMs });
    this.cost.calibrate(timings);
  }

  /** Test/ops hook: stop starting new batches (the running one finishes). */
  pause(): void {
    this.paused = true;
    this.clearTimers();
  }
  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Stop waiting for companions (maxDelayMs) but keep accepting requests: the first step of a shutdown. */
  expedite(): void {
    this.expedited = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.schedule();
  }

  /** Refuse new requests; already queued ones still run. Resolves when the queue is empty and idle. */
  close(): Promise<void> {
    this.closed = true;
    this.paused = false;
    this.schedule();
    return this.drained();
  }

  /** Resolves once nothing is queued or running. */
  drained(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private schedule(): void {
    if (this.paused || this.queue.length === 0 || this.immediate) return;
    const full = this.queuedImagesCount >= this.opts.maxBatch;
    // Behind a computing batch only a full one goes (pipelining); a partial one waits for the runner.
    if (this.running >= this.maxPending || (this.running > 0 && !full)) return;
    const wait = this.opts.maxDelayMs - (performance.now() - this.queue[0]!.enqueuedAt);
    if (full || this.closed || this.expedited || wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      // setImmediate, not a direct call: requests parsed in the same event-loop turn join this batch.
      this.immediate = setImmediate(() => {
        this.immediate = null;
        void this.dispatch();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, Math.max(1, Math.ceil(wait)));
    }
  }

  /** Rejects every queued request past its deadline: it would take a batch slot for an answer nobody waits for. */
  private shedExpired(): void {
    const limit = this.opts.queueTimeoutMs ?? 0;
    if (!(limit > 0) || this.closed) return;
    const now = performance.now();
    for (let i = 0; i < this.queue.length; ) {
      const j = this.queue[i]!;
      if (now - j.arrivedAt > limit) {
        this.queue.splice(i, 1);
        this.queuedImagesCount -= j.n;
        j.reject(new QueueTimeoutError(now - j.arrivedAt, limit));
      } else i++;
    }
  }

  private async dispatch(): Promise<void> {
    if (this.paused || this.running >= this.maxPending) return;
    this.shedExpired();
    if (this.queue.length === 0) return this.notifyIdle();
    if (this.running > 0 && this.queuedImagesCount < this.opts.maxBatch) return;
    this.running++;
    const jobs: Job[] = [];
    let images = 0;
    while (this.queue.length && images + this.queue[0]!.n <= this.opts.maxBatch) {
      const j = this.queue.shift()!;
      jobs.push(j);
      images += j.n;
    }
    this.queuedImagesCount -= images;
    this.pendingImages += images;
    const started = performance.now();
    const queueMs = jobs.map((j) => started - j.enqueuedAt);
    let batch: Uint8Array;
    if (jobs.length === 1) batch = jobs[0]!.pixels.slice();
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
      const running = this.run(batch, [images, h, w, c]);
      // A full batch may already be waiting behind this one (pipelining).
      if (this.queue.length) this.schedule();
      const r = await running;
      let row = 0;
      jobs.forEach((j, k) => {
        try {
          j.resolve({ outputs: sliceRows(r.outputs, images, row, j.n), queueMs: queueMs[k]!, computeMs: r.computeMs, batchImages: images });
        } catch (e) {
          j.reject(e as Error);
        }
        row += j.n;
      });
      this.cost.observe(images, r.computeMs);
      this.onBatch?.({ images, requests: jobs.length, computeMs: r.computeMs, queueMs });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const j of jobs) j.reject(err);
    } finally {
      this.running--;
      this.pendingImages -= images;
      if (this.queue.length) this.schedule();
      else this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.running > 0 || this.queue.length || !this.idleWaiters.length) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w();
  }
}

/** Rows [start, start + n) of every [N, ...] output. */
export function sliceRows(outputs: Record<string, OutputTensor>, total: number, start: number, n: number): Record<string, OutputTensor> {
  const res: Record<string, OutputTensor> = {};
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) throw new Error(`output '${name}' has batch dimension ${t.dims[0]}, expected ${total}`);
    const per = t.data.length / total;
    res[name] = { dims: [n, ...t.dims.slice(1)], data: total === n ? t.data : t.data.subarray(start * per, (start + n) * per) };
  }
  return res;
}
