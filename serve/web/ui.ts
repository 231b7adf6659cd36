// The page's DOM: the execution-provider panel, the model line, the preview and the top-k list. Rendering
// only; serve/web/app.ts owns the state and the model.
import type { WebModelInfo } from '../../models/onnx-contract.js';
import type { WebEp } from '../shared/ep-policy.js';
import type { AppState, Prediction } from '../shared/web-app-api.js';

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
};

const EP_LABEL: Record<WebEp, string> = { webgpu: 'WebGPU', wasm: 'WASM (CPU)' };

export function setEpText(text: string, cls = 'pending'): void {
  const el = $('ep');
  el.textContent = text;
  el.className = `badge ${cls}`;
}

export function renderModel(state: AppState): void {
  if (!state.model) return;
  const m = state.model;
  $('model').textContent =
    `${m.family} · ${m.numClasses} classes · input ${m.input.height}×${m.input.width}×${m.input.channels} uint8 · dataset ${m.dataset} · ` +
    `${(m.bytes / 1024).toFixed(0)} KiB · sha256 ${m.sha256.slice(0, 12)}…`;
}

export function renderState(state: AppState): void {
  const body = $('ep-details');
  body.textContent = '';
  const add = (k: string, v: string, cls = '') => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    if (cls) dd.className = cls;
    body.append(dt, dd);
  };
  if (state.status === 'error') {
    setEpText('no execution provider', 'bad');
    add('error', state.error ?? 'unknown', 'bad');
  } else if (state.ep) {
    const failed = state.tried.filter((t) => !t.ok).map((t) => EP_LABEL[t.ep]);
    const fellBack = failed.length > 0;
    setEpText(`${EP_LABEL[state.ep]}${fellBack ? ` — fallback: ${failed.join(', ')} unavailable` : ''}`, state.allNodesOnEp ? (fellBack ? 'warn' : 'ok') : 'warn');
    add('running on', `${EP_LABEL[state.ep]} (${state.placementText}, from onnxruntime's session log)`, state.allNodesOnEp ? 'ok' : 'warn');
    for (const n of state.placement?.elsewhere ?? []) add('not on EP', n, 'warn');
  }
  add('requested', state.requested === 'auto' ? 'webgpu, then wasm' : state.requested);
  for (const t of state.tried) add(t.ep, t.ok ? 'loaded and ran a warm-up batch' : `unavailable: ${t.reason}`, t.ok ? 'ok' : 'warn');
  if (state.adapter) add('WebGPU adapter', [state.adapter.vendor, state.adapter.architecture, state.adapter.description].filter(Boolean).join(' / ') || 'unnamed');
  add('onnxruntime-web', `${state.ortVersion}, wasm threads ${state.wasmThreads}, cross-origin isolated ${state.crossOriginIsolated}`);
  add('startup', `model fetch ${state.timings.modelFetchMs.toFixed(0)} ms, session ${state.timings.sessionCreateMs.toFixed(0)} ms, warm-up ${state.timings.warmupMs.toFixed(0)} ms`);
}

export function drawPreview(pixels: Uint8Array, inp: WebModelInfo['input']): void {
  const c = $<HTMLCanvasElement>('preview');
  c.width = inp.width;
  c.height = inp.height;
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(inp.width, inp.height);
  for (let i = 0; i < inp.width * inp.height; i++) {
    const [r, g, b] = inp.channels === 1 ? [pixels[i]!, pixels[i]!, pixels[i]!] : [pixels[3 * i]!, pixels[3 * i + 1]!, pixels[3 * i + 2]!];
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

export function renderPrediction(p: Prediction): void {
  const list = $('topk');
  list.textContent = '';
  for (const t of p.topk) {
    const li = document.createElement('li');
    li.dataset.index = String(t.index);
    li.dataset.prob = String(t.prob);
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = t.label;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.setProperty('--p', String(t.prob));
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.textContent = `${(100 * t.prob).toFixed(2)}%`;
    li.append(label, bar, pct);
    list.append(li);
  }
  $('latency').textContent =
    `${EP_LABEL[p.ep]} · inference ${p.inferenceMs.toFixed(1)} ms · decode + preprocess ${p.preprocessMs.toFixed(1)} ms · total ${p.totalMs.toFixed(1)} ms`;
  $('result').dataset.status = 'done';
  $('file-name').textContent = p.source;
}

/** File input, drag and drop, keyboard: every way to hand the page an image. */
export function wireUi(onFiles: (files: FileList | null | undefined) => Promise<void>): void {
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => void onFiles(input.files));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void onFiles(e.dataTransfer?.files);
  });
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') input.click();
  });
}
