// How long a batch of n images takes: t(n) = scale * (fixedMs + perImageMs * n). The queue deadline refuses a
// request on arrival when the batches ahead of it would take longer than --queue-timeout-ms (batcher.ts), so the
// model must not over-estimate large batches: a per-image time learnt from single-image batches (the fixed
// cost counted once per image) predicts a full batch many times too slow, the deadline then refuses
// everything but single images, batches never grow, and goodput collapses (ResNet-32 on 2 cores: 90 of
// ~1,000 req/s at 256 connections with a 10 ms deadline). So the shape (fixed part, per-image part) comes from
// timing batches of 1 and maxBatch when the model loads (calibrate), and each real batch only rescales it (an
// exponential average of measured / predicted: contention, thermal or a neighbour's load move the level, not
// the shape). Without a calibration the per-image time is learnt from the batches themselves (fixed part 0).

export interface BatchTiming {
  n: number;
  ms: number;
}

export class BatchCostModel {
  private fixedMs = 0;
  private perImageMs = 0;
  private scale = 1;
  private calibrated = false;

  /** Fits the fixed and per-image parts to timings of a small and a large batch (the fastest of each size counts). */
  calibrate(timings: readonly BatchTiming[]): void {
    const best = fastestBySize(timings, 'calibrate');
    const sizes = [...best.keys()];
    const lo = sizes[0]!;
    const hi = sizes[sizes.length - 1]!;
    const tLo = best.get(lo)!;
    const tHi = best.get(hi)!;
    // Noise can make the large batch look cheaper than the small one: then the best guess is "all fixed cost".
    const per = hi > lo ? Math.max(0, (tHi - tLo) / (hi - lo)) : tHi / hi;
    this.perImageMs = per;
    this.fixedMs = Math.max(0, tHi - per * hi);
    this.scale = 1;
    this.calibrated = true;
  }

  /** One real batch: rescales a calibrated model (0.8 old, 0.2 new); learns the per-image time otherwise. */
  observe(n: number, ms: number): void {
    if (!(n >= 1) || !(ms >= 0) || !Number.isFinite(ms)) return;
    if (this.calibrated) {
      const predicted = this.fixedMs + this.perImageMs * n;
      if (predicted > 0) this.scale = 0.8 * this.scale + 0.2 * (ms / predicted);
      return;
    }
    const per = ms / n;
    this.perImageMs = this.perImageMs === 0 ? per : 0.8 * this.perImageMs + 0.2 * per;
  }

  /** Predicted milliseconds for `batches` batches holding `images` images in all (0 before anything is known). */
  timeMs(batches: number, images: number): number {
    return this.scale * (this.fixedMs * batches + this.perImageMs * images);
  }

  get isCalibrated(): boolean {
    return this.calibrated;
  }
}

/**
 * The batch size worth forming: the smallest timed size whose time per image is within `tolerance` of the
 * best timed size's. Past that knee a bigger batch buys little throughput and costs its whole time in every
 * member's latency (ResNet-32 on 2 CPU cores: 1.3 ms per image at 1-2 images, 0.63 at 8, 0.61 at 64, where
 * a batch takes 39 ms); on a GPU the knee sits at large batches. The fastest timing of each size counts.
 * `maxBatchMs` caps it, because every member of a batch waits for all of it, but only among the sizes up to the
 * knee whose time per image is within CAP_TOLERANCE of the best (so the cap never costs more than that in
 * throughput, e.g. on a GPU whose small batches are several times slower per image): the largest of those whose
 * batch takes at most `maxBatchMs`, else the smallest of them.
 */
export function kneeBatch(timings: readonly BatchTiming[], tolerance = 0.15, maxBatchMs = Infinity): number {
  const fastest = fastestBySize(timings, 'kneeBatch');
  const perImage = [...fastest].map(([n, ms]) => ({ n, ms, per: ms / n }));
  const min = Math.min(...perImage.map((x) => x.per));
  const knee = perImage.find((x) => x.per <= min * (1 + tolerance))!.n;
  const candidates = perImage.filter((x) => x.n <= knee && x.per <= min * (1 + Math.max(tolerance, CAP_TOLERANCE)));
  const fits = candidates.filter((x) => x.ms <= maxBatchMs);
  return fits.length ? fits.at(-1)!.n : candidates[0]!.n;
}

/** How much time per image above the best the batch-time cap of kneeBatch may cost. */
export const CAP_TOLERANCE = 0.5;

/** The fastest timing of each batch size, smallest size first; rejects a bad timing or none (`who` names the caller). */
export function fastestBySize(timings: readonly BatchTiming[], who: string): Map<number, number> {
  const best = new Map<number, number>();
  for (const { n, ms } of timings) {
    if (!(Number.isInteger(n) && n >= 1) || !(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`batch timing ${n} images in ${ms} ms`);
    best.set(n, Math.min(ms, best.get(n) ?? Infinity));
  }
  if (best.size === 0) throw new RangeError(`${who}: no timings`);
  return new Map([...best].sort((a, b) => a[0] - b[0]));
}
