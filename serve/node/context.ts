// What the route modules share.
import type { ServeMetrics } from './metrics.js';
import type { ModelRepository } from './model-repository.js';

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
  /** Every served model version, each with its own runner and batcher. */
  repository: ModelRepository;
  /** The model /v1/classify (without ?model=) and the web app use: --default-model, else the first --model, else the first in the repository. */
  defaultModel: string;
  metrics: ServeMetrics;
  limits: ServeLimits;
  serverName: string;
  serverVersion: string;
  /** false while starting, draining, or while a model that should be loaded is not READY (a worker died, a version loading). */
  isReady(): boolean;
}
