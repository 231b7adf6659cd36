// Dynamic batching. Requests (each holding 1..maxBatch images) wait in a bounded FIFO. When the runner is
// idle the batcher takes, in arrival order, as many whole requests as fit in the preferred batch size
// (preferredBatch, by default the knee of the calibrated per-image cost; a single bigger request runs alone)
// and runs them together:
//   - at once when a preferred batch's images are waiting, or when maxDelayMs is 0 ("run as soon as idle": under
//     load, everything that arrived while the previous batch computed forms the next batch);
//   - otherwise when the oldest waiting request has waited maxDelayMs.
// Pipelining (maxPendingBatches, default 2): while a batch computes, a *full* batch waiting is handed to the
// runner too, which starts it the moment the first finishes. Under overload the event loop is busy refusing
// requests and would otherwise leave the model idle between batches until it came round to dispatch; a
// partial batch still waits for the runner (that is when more requests join it).
// A full queue (maxQueue requests waiting, not counting the running batch) refuses new requests with
// QueueFullError (HTTP 503 + Retry-After); after close() new requests get ShuttingDownError while
// everything already accepted still runs.
import { BatchCostModel, type BatchTiming, kneeBatch } from './batch-cost.js';
import type { OutputTensor, RunResult } from './runner.js';
import { AUTO_ADMISSION_FLOOR_MS, AUTO_BATCH_MAX_MS } from './defaults.js';

export { AUTO_ADMISSION_FLOOR_MS };

export interface BatcherOptions {
  /** Most images in one request, and in one batch when a single request is that big. */
  maxBatch: number;
  /**
   * Images per batch the batcher forms from several requests (default maxBatch). 'auto': the knee of the
   * per-image cost timed by calibrate() (kneeBatch, at most AUTO_BATCH_MAX_MS a batch), maxBatch until then. A request bigger than this runs alone.
   */
  preferredBatch?: number | 'auto';
  /** 'auto' forms no batch longer than this (ms; default AUTO_BATCH_MAX_MS): see kneeBatch. */
  autoBatchMaxMs?: number;
  /**
   * Refuse a request on arrival, before its body is read, when its expected wait exceeds this (ms; 0 = only
   * the queue deadline's check). 'auto': 1.5 x the preferred batch's time, so under overload at most about one
   * full batch waits behind the computing one: the model is kept busy and an admitted request waits less than
   * two batches; but never less than AUTO_ADMISSION_FLOOR_MS. Until calibrate() has run, 'auto' does not
   * refuse. Default 0.
   */
  admissionWaitMs?: number | 'auto';
  maxDelayMs: number;
  maxQueue: number;
  /** Shed a request that arrived longer ago than this when its batch would form (0 = never; Triton's default_timeout_microseconds with REJECT). */
  queueTimeoutMs?: number;
  /** [H, W, C] of one image. */
  imageShape: readonly [number, number, number];
  /** Batches handed to the runner at once: 1 = strictly one at a time; 2 (default) = a full batch may wait in the runner behind the computing one. */
  maxPendingBatches?: number;
}

export interface BatchCalibration {
  timings: BatchTiming[];
  preferredBatch: number;
  /** Calibrated time of one preferred-size batch. */
  batchMs: number;
  admissionLimitMs: number;
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

/** Refused before queueing: the batches ahead would take longer than the admission limit (admissionLimitMs). */
export class ExpectedWaitError extends Error {
  constructor(expectedMs: number, limitMs: number) {
    super(`server busy: the expected wait (${Math.round(expectedMs)} ms) exceeds the admission limit of ${Math.round(limitMs)} ms (--admission-wait-ms, --queue-timeout-ms); retry later`);
    this.name = 'ExpectedWaitError';
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
  private preferred: number;
  /** When the runner's oldest pending batch was handed to it (or the one before it was answered). */
  private busySince = 0;
  /** Requests admitted (by admission.ts, before their bodies are read) and not yet submitted, oldest first. */
  private reservations: Array<{ at: number; live: boolean }> = [];
  private liveReservations = 0;
  /**
   * How long a reservation counts. It stands for a body that is already here or about to be (parsed within
   * the same few event-loop turns); a slow upload must not hold a place the model could use, so past this it
   * counts no more (its request queues normally when its body has arrived).
   */
  reservationTtlMs = 250;
  /** Called after every batch (metrics). */
  onBatch: ((s: BatchStats) => void) | null = null;

  constructor(
    private readonly run: RunFn,
    readonly opts: BatcherOptions,
  ) {
    this.maxPending = opts.maxPendingBatches ?? 2;
    if (!(opts.maxBatch >= 1) || !(opts.maxQueue >= 1) || !(opts.maxDelayMs >= 0) || !(Number.isInteger(this.maxPending) && this.maxPending >= 1))
      throw new Error('batcher: maxBatch, maxQueue and maxPendingBatches must be >= 1, maxDelayMs >= 0');
    const pref = opts.preferredBatch ?? opts.maxBatch;
    if (pref !== 'auto' && !(Number.isInteger(pref) && pref >= 1 && pref <= opts.maxBatch)) throw new Error(`batcher: preferredBatch must be 'auto' or an integer 1..maxBatch (${opts.maxBatch}), got ${pref}`);
    const adm = opts.admissionWaitMs ?? 0;
    if (adm !== 'auto' && !(adm >= 0 && Number.isFinite(adm))) throw new Error(`batcher: admissionWaitMs must be 'auto' or a number >= 0, got ${adm}`);
    this.preferred = pref === 'auto' ? opts.maxBatch : pref;
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
   * How long a request arriving now would wait before its batch starts: what is left of the batches handed to
   * the runner (run one after the other, predicted by the cost model, less the time since the oldest started)
   * plus the full batches of waiting images and reservations ahead of it (it joins the partial one behind them).
   */
  get expectedWaitMs(): number {
    const fullAhead = Math.floor((this.queuedImagesCount + this.reservedRequests) / this.preferred);
    // What the runner still has to do: its batches less the time it has been at them. Counting the whole
    // batches refused everything while a finished batch's answer waited for a busy event loop (cnn28 at 2x
    // load: the model idle 74% of the time, goodput 0.43x).
    const busy = this.running > 0 ? performance.now() - this.busySince : 0;
    return Math.max(0, this.cost.timeMs(this.running, this.pendingImages) - busy) + this.cost.timeMs(fullAhead, fullAhead * this.preferred);
  }
  /** Admitted requests still reading their bodies (reserve), younger than reservationTtlMs. */
  get reservedRequests(): number {
    const old = performance.now() - this.reservationTtlMs;
    const rs = this.reservations;
    let head = 0;
    for (; head < rs.length && (!rs[head]!.live || rs[head]!.at < old); head++) {
      if (rs[head]!.live) {
        rs[head]!.live = false;
        this.liveReservations--;
      }
    }
    rs.splice(0, head);
    return this.liveReservations;
  }
  /** Images per batch formed from several requests (after calibrate() when 'auto'). */
  get preferredBatch(): number {
    return this.preferred;
  }
  /** The expected wait beyond which a request is refused on arrival: the smaller of the admission wait and the queue deadline (0 = none). */
  get admissionLimitMs(): number {
    const a = this.opts.admissionWaitMs ?? 0;
    const adm = a === 'auto' ? (this.cost.isCalibrated ? Math.max(AUTO_ADMISSION_FLOOR_MS, 1.5 * this.cost.timeMs(1, this.preferred)) : 0) : a;
    const limits = [adm, this.opts.queueTimeoutMs ?? 0].filter((x) => x > 0);
    return limits.length ? Math.min(...limits) : 0;
  }
  /** A request arriving now would, by expectedWaitMs, wait longer than admissionLimitMs: admission refuses it before reading its body. */
  get wouldMissDeadline(): boolean {
    const limit = this.admissionLimitMs;
    return limit > 0 && this.expectedWaitMs > limit;
  }
  /**
   * Counts an admitted request whose body is still being read as one waiting image, until the returned
   * function (idempotent) is called at its submit or its end, or reservationTtlMs has passed. Without it every
   * request of one event-loop turn passes the arrival check against the same queue, and the queue overshoots
   * the admission wait.
   */
  reserve(): () => void {
    const r = { at: performance.now(), live: true };
    this.reservations.push(r);
    this.liveReservations++;
    return () => {
      if (!r.live) return;
      r.live = false;
      this.liveReservations--;
    };
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
   * Times zero-filled batches (the fastest of `rounds` each, after one unmeasured single image): picks the
   * preferred batch size when 'auto' (1, 2, 4, ..., maxBatch: kneeBatch) and gives the arrival check the fixed
   * and per-image cost of a batch. 'auto' stops growing the batch once the timings have taken `budgetMs`: on a
   * slow model (a ResNet-50 on a CPU: ~50 ms an image) the big batches would cost tens of seconds at start-up
   * and buy little. Call before any submit.
   */
  async calibrate(rounds = 5, budgetMs = 2000): Promise<BatchCalibration> {
    const [h, w, c] = this.opts.imageShape;
    const max = this.opts.maxBatch;
    const auto = this.opts.preferredBatch === 'auto';
    // 'auto' times 1, 2, 4, ... and maxBatch to find the knee; a fixed size needs only 1 and itself.
    const sizes = auto ? [...new Set([...Array.from({ length: Math.floor(Math.log2(max)) + 1 }, (_, k) => 2 ** k), max])] : [...new Set([1, this.preferred])];
    const time = async (n: number) => (await this.run(new Uint8Array(n * this.imageBytes), [n, h, w, c])).computeMs;
    await time(1);
    const timings: BatchTiming[] = [];
    let spent = 0;
    for (const n of sizes) {
      for (let k = 0; k < rounds; k++) {
        const ms = await time(n);
        timings.push({ n, ms });
        spent += ms;
      }
      if (auto && spent > budgetMs) break;
    }
    if (auto) this.preferred = kneeBatch(timings, 0.15, this.opts.autoBatchMaxMs ?? AUTO_BATCH_MAX_MS);
    // The linear cost model is fitted where the batcher works: between single images and its batch size.
    this.cost.calibrate(timings.filter((t) => t.n === 1 || t.n === this.preferred));
    return { timings, preferredBatch: this.preferred, batchMs: this.cost.timeMs(1, this.preferred), admissionLimitMs: this.admissionLimitMs };
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
    const full = this.queuedImagesCount >= this.preferred;
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
    if (this.running > 0 && this.queuedImagesCount < this.preferred) return;
    if (this.running === 0) this.busySince = performance.now();
    this.running++;
    const jobs: Job[] = [];
    let images = 0;
    // Whole requests up to the preferred size; a request bigger than that (up to maxBatch) runs alone.
    while (this.queue.length && (jobs.length === 0 || images + this.queue[0]!.n <= this.preferred)) {
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
      if (this.running > 0) this.busySince = performance.now();
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
