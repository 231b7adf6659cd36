// The browser app's window.ecl API and the state it reports: the contract between serve/web/app.ts and
// whoever drives the page (tests, the parity harness's ort-web runner). Types only, browser-safe.
import type { ResizePolicy, WebModelInfo } from '../../models/onnx-contract.js';
import type { NodePlacement } from './ep-detect.js';
import type { EpAttempt, WebEp, WebEpChoice } from './ep-policy.js';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface AppState {
  status: 'loading' | 'ready' | 'error';
  error?: string;
  requested: WebEpChoice;
  /** The EP whose session is in use. */
  ep?: WebEp;
  tried: EpAttempt<WebEp>[];
  /** Where onnxruntime placed each node of the session in use (from its VERBOSE session log). */
  placement: NodePlacement | null;
  placementText: string;
  /** True when every node runs on the EP in use. */
  allNodesOnEp: boolean;
  adapter: AdapterInfo | null;
  crossOriginIsolated: boolean;
  wasmThreads: number;
  ortVersion: string;
  timings: { modelFetchMs: number; sessionCreateMs: number; warmupMs: number };
  model?: Omit<WebModelInfo, 'metadata'> & { family: string; dataset: string };
  /** Warnings and errors onnxruntime logged. */
  ortWarnings: string[];
}

export interface Prediction {
  topk: { index: number; label: string; prob: number; logit: number }[];
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
  ep: WebEp;
  source: string;
  /** base64 of the uint8 NHWC tensor the model got (to check preprocessing against the server's). */
  input: string;
  /** How the browser decoded the file (serve/web/decode.ts): 'webcodecs' (PNG, lossless WebP) or 'canvas' (JPEG, fallback). */
  decoder: string;
}

/** Model input size, channels and resize policy for window.ecl.preprocessBlob. */
export interface PreprocessSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizePolicy;
}

export interface BatchResult {
  /** base64 of float32 [n, C] logits / probs. */
  logits: string;
  probs: string;
  count: number;
  numClasses: number;
  ms: number;
  ep: WebEp;
}

/** window.ecl */
export interface EclApi {
  ready: Promise<AppState>;
  state: AppState;
  /** Runs n preprocessed images (base64 uint8 NHWC) in batches; logits and probs come back as base64 float32. */
  runBatchB64(pixelsB64: string, n: number, batchSize?: number): Promise<BatchResult>;
  classifyBlob(file: Blob, source: string): Promise<Prediction>;
  /** The app's decode + shared preprocessing with any spec, without running the model (base64 uint8 HWC in `input`). */
  preprocessBlob(file: Blob, spec: PreprocessSpec): Promise<{ input: string; decoder: string; width: number; height: number; orientation: number }>;
  readonly lastResult: Prediction | null;
}

declare global {
  interface Window {
    ecl: EclApi;
  }
}
