// Defaults of `ecl serve`, in a module with no dependencies so the CLI can show them without loading
// fastify, sharp or onnxruntime.
import type { EpChoice } from './ep.js';

export type InferenceMode = 'worker' | 'inline';

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
  ortSpin: true,
} as const;
