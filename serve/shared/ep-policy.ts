// THE execution-provider policy, for node and for the browser: which providers exist on each side, what
// `auto` tries and in which order, onnxruntime's own name for each (as its logs and node placements say),
// and the parity runtimes built from them. Browser-safe (no imports): serve/node/ep.ts creates node
// sessions with it, serve/web/app.ts browser sessions, pipeline/parity/ names its runtimes after it.

/** onnxruntime-node providers this project uses. */
export const NODE_EPS = ['cuda', 'webgpu', 'cpu'] as const;
export type NodeEp = (typeof NODE_EPS)[number];
export type NodeEpChoice = 'auto' | NodeEp;
export const NODE_EP_CHOICES: readonly NodeEpChoice[] = ['auto', 'cuda', 'webgpu', 'cpu'];

/** onnxruntime-web providers the browser app uses. */
export const WEB_EPS = ['webgpu', 'wasm'] as const;
export type WebEp = (typeof WEB_EPS)[number];
export type WebEpChoice = 'auto' | WebEp;
export const WEB_EP_CHOICES: readonly WebEpChoice[] = ['auto', 'webgpu', 'wasm'];

/**
 * What `auto` means on each side. Node: CUDA, then CPU; WebGPU is never picked implicitly there (Dawn on a
 * server is for explicit checks). Browser: WebGPU, then WASM. An explicit choice is that provider alone:
 * no silent fallback.
 */
export function nodeEpOrder(choice: NodeEpChoice): NodeEp[] {
  return choice === 'auto' ? ['cuda', 'cpu'] : [choice];
}
export function webEpOrder(choice: WebEpChoice): WebEp[] {
  return choice === 'auto' ? ['webgpu', 'wasm'] : [choice];
}

/** onnxruntime's name for each provider (session logs, node placements). WASM runs ORT's CPU provider. */
export const ORT_EP_NAME: Record<NodeEp | WebEp, string> = {
  cuda: 'CUDAExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
  cpu: 'CPUExecutionProvider',
  wasm: 'CPUExecutionProvider',
};

/** One provider tried while creating a session, and why it was or was not used. */
export interface EpAttempt<E extends string = NodeEp | WebEp> {
  ep: E;
  ok: boolean;
  /** 'loaded' on success, else why the provider could not be used. */
  reason: string;
}

/** The parity runtimes: every provider of both sides, named host-ep. */
export type RuntimeClass = 'cpu' | 'gpu';
export const PARITY_RUNTIMES = {
  'ort-node-cpu': { host: 'node', ep: 'cpu', label: 'onnxruntime-node CPU', cls: 'cpu' },
  'ort-node-cuda': { host: 'node', ep: 'cuda', label: 'onnxruntime-node CUDA', cls: 'gpu' },
  'ort-node-webgpu': { host: 'node', ep: 'webgpu', label: 'onnxruntime-node WebGPU (native)', cls: 'gpu' },
  'ort-web-wasm': { host: 'web', ep: 'wasm', label: 'onnxruntime-web WASM (Chromium)', cls: 'cpu' },
  'ort-web-webgpu': { host: 'web', ep: 'webgpu', label: 'onnxruntime-web WebGPU (Chromium)', cls: 'gpu' },
} as const satisfies Record<string, { host: 'node'; ep: NodeEp; label: string; cls: RuntimeClass } | { host: 'web'; ep: WebEp; label: string; cls: RuntimeClass }>;
export type RuntimeName = keyof typeof PARITY_RUNTIMES;
export const RUNTIMES = Object.keys(PARITY_RUNTIMES) as RuntimeName[];
