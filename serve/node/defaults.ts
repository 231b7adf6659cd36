// Defaults of `ecl serve`, in a module with no dependencies so the CLI can show them without loading
// fastify, sharp or onnxruntime.
import type { EpChoice } from './ep.js';

export type InferenceMode = 'worker' | 'inline';

/**
 * The least expected wait `--admission-wait-ms auto` admits. A fast model's 1.5 batches (ResNet-32 on 2 cores:
 * 2 images, 2.4 ms) is shorter than the time the event loop loses its core for when the machine is loaded, and
 * then the queue runs dry: at 2x load the model sat idle 13% of the time in batches of 1-2 and answered 0.80x
 * of capacity (2026-12-01). 10 ms held goodput there but set the p99 of the answered requests: with batches of 8,
 * 30 s at 2x load on the Zen 5 VM (2026-12-02), 10 ms gave 0.91x at 4.5x the unloaded p99, 4 ms 0.91x / 0.99x at
 * 2.8x / 3.1x, 3 ms 0.83x / 0.94x at 3.7x / 3.4x (docs/serving.md). A deadline set below it still wins.
 */
export const AUTO_ADMISSION_FLOOR_MS = 4;

/**
 * The longest batch `--preferred-batch auto` forms: under overload an answered request waits about one batch in
 * the queue and then its own, so a batch much longer than an unloaded request's few milliseconds multiplies the
 * tail. ResNet-32 on the Zen 5 VM: the 15% knee picked 16 (6.5 ms) and the p99 at 2x load was 5.5-8.8x the
 * unloaded one, with 8 (3.5 ms) 2.8-4.5x at the same or a higher goodput (2026-12-02, docs/serving.md). On a GPU
 * or for small models the knee's batch is far below it; kneeBatch never lets it cost over 50% per image.
 */
export const AUTO_BATCH_MAX_MS = 5;

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  ep: 'auto' as EpChoice,
  maxBatch: 64,
  preferredBatch: 'auto' as number | 'auto',
  admissionWaitMs: 'auto' as number | 'auto',
  maxDelayMs: 0,
  maxQueue: 256,
  maxInflight: 512,
  maxInflightPerConnection: 4,
  queueTimeoutMs: 2000,
  bodyLimit: 8 * 1024 * 1024,
  bodyTimeoutMs: 10_000,
  maxConnections: 1024,
  drainGraceMs: 1000,
  maxImagePixels: 4096 * 4096,
  maxImageSide: 16_384,
  maxAspectRatio: 32,
  inference: 'worker' as InferenceMode,
  intraOpThreads: 0,
  // Off: the event loop, the inference worker and onnxruntime's intra-op threads share the cores, and spinning
  // threads take CPU from HTTP handling (docs/serving.md "onnxruntime thread spinning").
  ortSpin: false,
} as const;
