// Defaults of `ecl serve`, in a module with no dependencies so the CLI can show them without loading
// fastify, sharp or onnxruntime.
import type { EpChoice } from './ep.js';

export type InferenceMode = 'worker' | 'inline';

/**
 * The least expected wait `--admission-wait-ms auto` admits. A fast model's 1.5 batches (ResNet-32 on 2 cores:
 * 2 images, 2.4 ms) is shorter than the time the event loop loses its core for when the machine is loaded, and
 * then the queue runs dry: at 2x load the model sat idle 13% of the time in batches of 1-2 and answered 0.80x
 * of capacity; with 10 ms, 0.92x at a p99 of 25 ms (2026-12-01, docs/serving.md). A deadline set below it still wins.
 */
export const AUTO_ADMISSION_FLOOR_MS = 10;

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
