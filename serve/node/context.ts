// What the route modules share.
import type { ModelInfo } from './model-info.js';
import type { DynamicBatcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';
import type { InferenceRunner } from './runner.js';

export interface ServeLimits {
  /** Images per request and per onnxruntime run. */
  maxBatch: number;
  /** Decoded pixel count (width x height) allowed per uploaded image. */
  maxImagePixels: number;
  /** Width or height allowed per uploaded image (before decoding). */
  maxImageSide: number;
  /** Longer / shorter side allowed per uploaded image (before decoding). */
  maxAspectRatio: number;
  /** Request body bytes. */
  bodyLimit: number;
}

export interface ServeContext {
  info: ModelInfo;
  runner: InferenceRunner;
  batcher: DynamicBatcher;
  metrics: ServeMetrics;
  limits: ServeLimits;
  serverName: string;
  serverVersion: string;
  /** false while starting, draining or after the inference worker died. */
  isReady(): boolean;
}
