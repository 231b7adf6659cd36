// The browser app: loads model.onnx and its labels from the server, runs it with onnxruntime-web (WebGPU
// first, WASM fallback), reports which execution provider actually ran every node (from onnxruntime's own
// session log), and classifies uploaded or dropped images with the model's own preprocessing
// (serve/web/decode.ts: pixels as stored + EXIF orientation; serve/shared/preprocess.ts with the model's resize
// policy -> uint8 NHWC pixels; normalisation is inside the graph).
//
// Query parameters: ?ep=auto|webgpu|wasm (default auto = webgpu, then wasm), ?k=<top-k> (default 5).
// window.ecl exposes the state and a batch API for tests and the parity harness (pipeline/parity/).
import * as ort from 'onnxruntime-web/webgpu';
import { preprocessImage } from '../shared/preprocess.js';
import { decodeImageBlob } from './decode.js';
import type { WebModelInfo } from '../../models/onnx-contract.js';
import { ORT_EP_NAME, type WebEp, type WebEpChoice, webEpOrder } from '../shared/ep-policy.js';
import type { AdapterInfo, AppState, BatchResult, Prediction, PreprocessSpec } from '../shared/web-app-api.js';
import { allNodesOn, describePlacement, type NodePlacement, parseNodePlacements, parseOrtLogLine } from '../shared/ep-detect.js';
import { $, drawPreview, renderModel, renderPrediction, renderState, setEpText, wireUi } from './ui.js';

type ModelInfo = WebModelInfo;

const params = new URLSearchParams(location.search);
const requested = ((): WebEpChoice => {
  const v = (params.get('ep') ?? 'auto').toLowerCase();
  return v === 'webgpu' || v === 'wasm' ? v : 'auto';
})();
const topK = Math.max(1, Math.min(50, Number(params.get('k') ?? 5) || 5));

const state: AppState = {
  status: 'loading',
  requested,
  tried: [],
  placement: null,
  placementText: '',
  allNodesOnEp: false,
  adapter: null,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  wasmThreads: 0,
  ortVersion: ort.env.versions?.web ?? 'unknown',
  timings: { modelFetchMs: 0, sessionCreateMs: 0, warmupMs: 0 },
  ortWarnings: [],
};

// ---------------------------------------------------------------------------------------------------
// onnxruntime's log goes to the console; capture it (for the node placements) and keep VERBOSE/INFO lines
// out of the real console.
let capture: string[] | null = null;
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const orig = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    const text = args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
    const line = parseOrtLogLine(text);
    if (!line) return orig(...args);
    if (capture) capture.push(text);
    if (line.severity === 'W' || line.severity === 'E' || line.severity === 'F') {
      if (state.ortWarnings.length < 50) state.ortWarnings.push(line.message);
      orig(...args);
    }
  };
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 400);

async function probeWebGpu(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return `navigator.gpu is missing: this browser does not expose WebGPU${window.isSecureContext ? '' : ' (the page is not a secure context: use https or localhost)'}`;
  let adapter: { info?: Partial<AdapterInfo> } | null;
  try {
    adapter = (await gpu.requestAdapter()) as { info?: Partial<AdapterInfo> } | null;
  } catch (e) {
    return `navigator.gpu.requestAdapter() failed: ${errText(e)}`;
  }
  if (!adapter) return 'no WebGPU adapter (navigator.gpu.requestAdapter() returned null; headless Chromium needs --enable-unsafe-webgpu)';
  const i = adapter.info ?? {};
  state.adapter = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  return null;
}

function feedsFor(info: ModelInfo, pixels: Uint8Array, n: number): Record<string, ort.Tensor> {
  const { name, height, width, channels } = info.input;
  return { [name]: new ort.Tensor('uint8', pixels, [n, height, width, channels]) };
}

/** Session on exactly one EP (no silent fallback inside onnxruntime-web), created at VERBOSE severity for the placement log. */
async function createOn(ep: WebEp, model: Uint8Array, info: ModelInfo): Promise<{ session: ort.InferenceSession; placement: NodePlacement | null }> {
  if (ep === 'webgpu') {
    const why = await probeWebGpu();
    if (why) throw new Error(why);
  }
  capture = [];
  let session: ort.InferenceSession | undefined;
  try {
    const t0 = performance.now();
    session = await ort.InferenceSession.create(model, { executionProviders: [ep], logSeverityLevel: 0, logVerbosityLevel: 0, graphOptimizationLevel: 'all' });
    state.timings.sessionCreateMs = performance.now() - t0;
    const placement = parseNodePlacements(capture);
    const t1 = performance.now();
    const px = info.input.height * info.input.width * info.input.channels;
    await session.run(feedsFor(info, new Uint8Array(px), 1));
    state.timings.warmupMs = performance.now() - t1;
    return { session, placement };
  } catch (e) {
    if (session) await session.release().catch(() => undefined);
    throw e;
  } finally {
    capture = null;
  }
}

let session: ort.InferenceSession | null = null;
let info: ModelInfo | null = null;

async function init(): Promise<AppState> {
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  ort.env.logLevel = 'warning';
  const t0 = performance.now();
  const [infoRes, modelRes] = await Promise.all([fetch(new URL('model/info', document.baseURI)), fetch(new URL('model.onnx', document.baseURI))]);
  if (!infoRes.ok) throw new Error(`GET model/info: HTTP ${infoRes.status}`);
  if (!modelRes.ok) throw new Error(`GET model.onnx: HTTP ${modelRes.status}`);
  info = (await infoRes.json()) as ModelInfo;
  const model = new Uint8Array(await modelRes.arrayBuffer());
  state.timings.modelFetchMs = performance.now() - t0;
  const { metadata, ...rest } = info;
  state.model = { ...rest, family: metadata.model_family ?? 'unknown', dataset: metadata.dataset ?? 'unknown' };
  renderModel(state);

  const order = webEpOrder(requested);
  for (const ep of order) {
    setEpText(`trying ${ep}…`);
    try {
      const r = await createOn(ep, model, info);
      session = r.session;
      state.ep = ep;
      state.placement = r.placement;
      state.placementText = describePlacement(r.placement);
      state.allNodesOnEp = allNodesOn(r.placement, ORT_EP_NAME[ep]);
      state.tried.push({ ep, ok: true, reason: 'loaded' });
      break;
    } catch (e) {
      state.tried.push({ ep, ok: false, reason: errText(e) });
    }
  }
  state.wasmThreads = Number(ort.env.wasm.numThreads ?? 0);
  if (!session) throw new Error(`no execution provider could run the model: ${state.tried.map((t) => `${t.ep}: ${t.reason}`).join('; ')}`);
  state.status = 'ready';
  return state;
}

// ---------------------------------------------------------------------------------------------------
// Inference API

function softmaxRow(l: Float32Array, off: number, c: number): Float32Array {
  let m = -Infinity;
  for (let j = 0; j < c; j++) m = Math.max(m, l[off + j]!);
  const out = new Float32Array(c);
  let s = 0;
  for (let j = 0; j < c; j++) s += out[j] = Math.exp(l[off + j]! - m);
  for (let j = 0; j < c; j++) out[j]! /= s;
  return out;
}

async function runPixels(pixels: Uint8Array, n: number): Promise<{ logits: Float32Array; probs: Float32Array; ms: number }> {
  if (!session || !info) throw new Error(`the model is not loaded (${state.error ?? state.status})`);
  const t0 = performance.now();
  const out = await session.run(feedsFor(info, pixels, n));
  const ms = performance.now() - t0;
  const logits = out.logits?.data as Float32Array | undefined;
  if (!logits) throw new Error("the model has no 'logits' output");
  let probs = out.probs?.data as Float32Array | undefined;
  if (!probs) {
    const C = info.numClasses;
    probs = new Float32Array(n * C);
    for (let i = 0; i < n; i++) probs.set(softmaxRow(logits, i * C, C), i * C);
  }
  for (const t of Object.values(out)) t.dispose();
  return { logits, probs, ms };
}

const toB64 = (a: Float32Array): string => bytesToB64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
const bytesToB64 = (u8: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
};
const fromB64 = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Runs n preprocessed images (base64 uint8 NHWC) in batches; logits and probs come back as base64 float32. */
async function runBatchB64(pixelsB64: string, n: number, batchSize = 64): Promise<BatchResult> {
  if (!info) throw new Error('the model is not loaded');
  const px = info.input.height * info.input.width * info.input.channels;
  const all = fromB64(pixelsB64);
  if (all.length !== n * px) throw new Error(`got ${all.length} bytes for ${n} images of ${px} bytes`);
  const C = info.numClasses;
  const logits = new Float32Array(n * C);
  const probs = new Float32Array(n * C);
  let ms = 0;
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const r = await runPixels(all.slice(s * px, e * px), e - s);
    logits.set(r.logits, s * C);
    probs.set(r.probs, s * C);
    ms += r.ms;
  }
  return { logits: toB64(logits), probs: toB64(probs), count: n, numClasses: C, ms, ep: state.ep! };
}

let lastResult: Prediction | null = null;

async function classifyBlob(file: Blob, source: string): Promise<Prediction> {
  if (!session || !info) throw new Error('the model is not loaded');
  const t0 = performance.now();
  const img = await decodeImageBlob(file);
  // The model's own resize policy (from its metadata via /model/info) and the file's EXIF orientation.
  const { height, width, channels } = info.input;
  const pixels = preprocessImage(img, { height, width, channels, resize: info.resize, orientation: img.orientation });
  const t1 = performance.now();
  const r = await runPixels(pixels, 1);
  const t2 = performance.now();
  const order = Array.from(r.probs.keys()).sort((a, b) => r.probs[b]! - r.probs[a]!);
  const pred: Prediction = {
    topk: order.slice(0, Math.min(topK, info.numClasses)).map((i) => ({ index: i, label: info!.labels[i] ?? String(i), prob: r.probs[i]!, logit: r.logits[i]! })),
    preprocessMs: t1 - t0,
    inferenceMs: r.ms,
    totalMs: t2 - t0,
    ep: state.ep!,
    source,
    input: bytesToB64(pixels),
    decoder: img.path,
  };
  drawPreview(pixels, info.input);
  lastResult = pred;
  return pred;
}

/** The app's decode + the shared preprocessing for any input spec (no model run): checks of the policies a loaded model does not use. */
async function preprocessBlob(file: Blob, spec: PreprocessSpec): Promise<{ input: string; decoder: string; width: number; height: number; orientation: number }> {
  const img = await decodeImageBlob(file);
  const pixels = preprocessImage(img, { ...spec, orientation: img.orientation });
  return { input: bytesToB64(pixels), decoder: img.path, width: img.width, height: img.height, orientation: img.orientation };
}

async function onFiles(files: FileList | null | undefined): Promise<void> {
  const f = files?.[0];
  if (!f) return;
  const result = $('result');
  result.dataset.status = 'running';
  $('error').textContent = '';
  try {
    renderPrediction(await classifyBlob(f, f.name));
  } catch (e) {
    result.dataset.status = 'error';
    $('error').textContent = `could not classify ${f.name}: ${errText(e)}`;
  }
}

const ready = init()
  .catch((e: unknown) => {
    state.status = 'error';
    state.error = errText(e);
    return state;
  })
  .then((s) => {
    renderState(state);
    document.body.dataset.status = s.status;
    ($('file') as HTMLInputElement).disabled = s.status !== 'ready';
    void setupExtras(s);
    return s;
  });

wireUi(onFiles);

/** The report link when the server has one; sample images when their classes are this model's. */
async function setupExtras(s: AppState): Promise<void> {
  const rep = await fetch(new URL('report', document.baseURI), { method: 'HEAD' }).catch(() => null);
  if (rep?.ok) $('report-link').hidden = false;
  if (s.status !== 'ready' || !s.model) return;
  const res = await fetch(new URL('samples/samples.json', document.baseURI)).catch(() => null);
  if (!res?.ok) return;
  const list = ((await res.json()) as { samples?: { file: string; label: number; className: string }[] }).samples ?? [];
  const labels = s.model.labels;
  // Samples of another dataset would be meaningless for this model: shown only when every class name matches.
  if (!list.length || list.some((x) => labels[x.label] !== x.className)) return;
  const box = $('samples');
  for (const x of list) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'sample';
    b.title = x.className;
    b.dataset.file = x.file;
    const img = document.createElement('img');
    img.src = `samples/${encodeURIComponent(x.file)}`;
    img.alt = x.className;
    b.append(img);
    b.addEventListener('click', async () => {
      const blob = await (await fetch(new URL(`samples/${encodeURIComponent(x.file)}`, document.baseURI))).blob();
      await onFiles([new File([blob], x.file, { type: 'image/png' })] as unknown as FileList);
    });
    box.append(b);
  }
  box.hidden = false;
}

window.ecl = {
  ready,
  state,
  runBatchB64,
  classifyBlob,
  preprocessBlob,
  get lastResult() {
    return lastResult;
  },
};
