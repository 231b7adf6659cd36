// Pure parts of the parity harness and the web app's EP detection: error statistics, the allclose pass rule,
// sample selection, and parsing onnxruntime's node-placement log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareOutputs, errorStats, evenlySpaced, quantile, softmaxRows } from '../../pipeline/parity/metrics.js';
import { allNodesOn, describePlacement, parseNodePlacements, parseOrtLogLine } from '../../serve/shared/ep-detect.js';
import { markdownPathFor, splitList } from '../../pipeline/cli/parity.js';
import { tailParity } from '../../pipeline/parity/tail.js';
import { cleanEpReason } from '../../pipeline/parity/harness.js';

test('quantile interpolates like numpy', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([5], 0.99), 5);
  assert.equal(quantile([], 0.99), 0);
  assert.ok(Math.abs(quantile(Array.from({ length: 101 }, (_, i) => i), 0.99) - 99) < 1e-12);
});

test('errorStats: abs and relative (floored at atol) errors', () => {
  const s = errorStats([1.1, 0, 2], [1, 0.00001, 2], { atol: 1e-4, rtol: 0 });
  assert.ok(Math.abs(s.maxAbs - 0.1) < 1e-12);
  assert.ok(Math.abs(s.maxRel - 0.1) < 1e-9, `${s.maxRel}: |r| below atol is judged against atol`);
  assert.ok(Math.abs(s.meanAbs - (0.1 + 0.00001) / 3) < 1e-12);
});

test('compareOutputs: identical outputs pass; a small shift on one class fails with the worst element named', () => {
  const n = 4;
  const c = 3;
  const logits = Float32Array.from({ length: n * c }, (_, i) => Math.sin(i) * 3);
  const ref = { logits, probs: softmaxRows(logits, n, c) };
  const labels = [0, 1, 2, 0];
  const same = compareOutputs(ref, ref, labels, n, c, { atol: 1e-4, rtol: 1e-3 });
  assert.equal(same.pass, true);
  assert.equal(same.top1Agreement, 1);
  assert.ok(Math.abs(same.cosine.min - 1) < 1e-6);
  const shifted = Float32Array.from(logits);
  shifted[2 * c + 1]! += 0.01;
  const cand = { logits: shifted, probs: softmaxRows(shifted, n, c) };
  const bad = compareOutputs(cand, ref, labels, n, c, { atol: 1e-4, rtol: 1e-3 });
  assert.equal(bad.pass, false);
  assert.ok(bad.violations >= 1);
  assert.equal(bad.worst?.output, 'logits');
  assert.equal(bad.worst?.sample, 2);
  assert.equal(bad.worst?.classIndex, 1);
  // Within a looser tolerance the same shift passes.
  assert.equal(compareOutputs(cand, ref, labels, n, c, { atol: 0.02, rtol: 0 }).pass, true);
  // NaN never passes.
  const nan = Float32Array.from(logits);
  nan[0] = NaN;
  const r = compareOutputs({ logits: nan, probs: ref.probs }, ref, labels, n, c, { atol: 1, rtol: 1 });
  assert.equal(r.pass, false);
  assert.equal(r.nonFinite, 1);
});

test('evenlySpaced covers a class-sorted split', () => {
  const idx = evenlySpaced(1000, 64);
  assert.equal(idx.length, 64);
  assert.equal(idx[0], 0);
  assert.ok(idx.at(-1)! >= 980);
  const classes = new Set(idx.map((i) => Math.floor(i / 100)));
  assert.equal(classes.size, 10);
  assert.deepEqual(evenlySpaced(5, 10), [0, 1, 2, 3, 4]);
});

const L = (sev: string, msg: string) => `2026-11-26 16:15:38.118189 [${sev}:onnxruntime:, session_state.cc:1381 VerifyEachNodeIsAssignedToAnEp] ${msg}`;

test('node placements from onnxruntime verbose logs: one EP and several EPs', () => {
  assert.deepEqual(parseOrtLogLine(L('V', ' All nodes placed on [X]. Number of nodes: 3')), { severity: 'V', message: ' All nodes placed on [X]. Number of nodes: 3' });
  assert.equal(parseOrtLogLine('hello'), null);
  const one = parseNodePlacements([L('I', 'Initializing session.'), L('V', 'Node placements'), L('V', ' All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 13')]);
  assert.deepEqual(one?.byEp, { WebGpuExecutionProvider: 13 });
  assert.equal(allNodesOn(one, 'webgpu'), true);
  assert.equal(allNodesOn(one, 'wasm'), false);
  assert.equal(describePlacement(one), 'WebGpuExecutionProvider: all 13 nodes');
  const two = parseNodePlacements([
    L('V', 'Node placements'),
    L('V', ' Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 11'),
    L('V', '  Conv (conv1)'),
    L('V', ' Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2'),
    L('V', '  Cast (cast_in)'),
    L('V', '  Shape (shape_1)'),
    L('V', 'SaveMLValueNameIndexMapping'),
  ]);
  assert.deepEqual(two?.byEp, { WebGpuExecutionProvider: 11, CPUExecutionProvider: 2 });
  assert.equal(two?.primary, 'WebGpuExecutionProvider');
  assert.deepEqual(two?.elsewhere, ['Cast (cast_in) on CPUExecutionProvider', 'Shape (shape_1) on CPUExecutionProvider']);
  assert.equal(allNodesOn(two, 'webgpu'), false);
  assert.equal(parseNodePlacements([L('I', 'nothing here')]), null);
  assert.equal(allNodesOn(null, 'webgpu'), false);
});

test('command helpers', () => {
  assert.deepEqual(splitList(['ort-node-cpu,ort-web-wasm', 'ort-web-webgpu']), ['ort-node-cpu', 'ort-web-wasm', 'ort-web-webgpu']);
  assert.deepEqual(splitList(undefined), []);
  assert.equal(markdownPathFor('runs/x/parity.json'), 'runs/x/parity.md');
  assert.equal(
    cleanEpReason('webgpu', '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:100 onnxruntime::webgpu::WebGpuContext::Initialize(...)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters').startsWith('no WebGPU adapter (Dawn: No supported adapters)'),
    true,
  );
});

test('tailParity: a shift in one class column fails that class only, rarest first, grouped many/medium/few', () => {
  const n = 40;
  const c = 4;
  const logits = Float32Array.from({ length: n * c }, (_, i) => Math.sin(i * 1.7) * 4);
  const ref = { logits, probs: softmaxRows(logits, n, c) };
  const labels = Int32Array.from({ length: n }, (_, i) => i % c);
  const counts = [500, 60, 10, 3];
  const names = ['a', 'b', 'c', 'd'];
  const tol = { atol: 1e-4, rtol: 1e-3 };
  const same = tailParity({ cand: ref, ref, labels, count: n, numClasses: c, tol, classCounts: counts, labelNames: names });
  assert.deepEqual(same.classes.map((k) => k.classIndex), [3, 2, 1, 0], 'rarest first');
  assert.deepEqual(same.classes.map((k) => k.group), ['few', 'few', 'medium', 'many']);
  assert.deepEqual(same.failing, []);
  assert.deepEqual(same.groups.map((g) => [g.group, g.classes, g.images]), [['few', [3, 2], 20], ['medium', [1], 10], ['many', [0], 10]]);
  // Class 3's logit shifted by 0.01 on every image: column 3 is off, nothing else.
  const shifted = Float32Array.from(logits);
  for (let i = 0; i < n; i++) shifted[i * c + 3]! -= 0.01;
  const t = tailParity({ cand: { logits: shifted, probs: softmaxRows(shifted, n, c) }, ref, labels, count: n, numClasses: c, tol, classCounts: counts, labelNames: names });
  assert.deepEqual(t.failing, [3]);
  const d = t.classes[0]!;
  assert.equal(d.classIndex, 3);
  assert.equal(d.violations, n);
  assert.ok(Math.abs(d.column.maxAbs - 0.01) < 1e-6);
  assert.equal(t.groups.find((g) => g.group === 'few')!.pass, false);
  assert.equal(t.groups.find((g) => g.group === 'many')!.pass, true);
  // Probability-only runtimes are judged on the probability column; without labels images go by the reference's top-1.
  const p = tailParity({ cand: { probs: ref.probs }, ref, labels: new Int32Array(n).fill(-1), count: n, numClasses: c, tol, classCounts: null, labelNames: names });
  assert.equal(p.basis, 'reference-top1');
  assert.equal(p.classes[0]!.columnOutput, 'probs');
  assert.equal(p.classes[0]!.group, null);
  assert.equal(p.classes.reduce((s, k) => s + k.images, 0), n);
  assert.deepEqual(p.failing, []);
});

test('compareOutputs without candidate logits compares probabilities only', () => {
  const n = 3;
  const c = 3;
  const logits = Float32Array.from([1, 2, 3, 3, 2, 1, 0, 5, 1]);
  const ref = { logits, probs: softmaxRows(logits, n, c) };
  const r = compareOutputs({ probs: ref.probs }, ref, [2, 0, 1], n, c, { atol: 1e-6, rtol: 0 });
  assert.equal(r.logits, null);
  assert.equal(r.pass, true);
  assert.equal(r.accuracy, 1);
  const probs = Float32Array.from(ref.probs);
  probs[0] = 0.9;
  const bad = compareOutputs({ probs }, ref, [2, 0, 1], n, c, { atol: 1e-6, rtol: 0 });
  assert.equal(bad.violations, 1);
  assert.deepEqual(bad.top1Disagreements, [0]);
});
