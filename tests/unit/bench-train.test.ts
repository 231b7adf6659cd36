// bench-train's pure logic: medians, throughput, ratios, the markdown table, the torch-unavailable path,
// option parsing and result merging. No benchmark runs here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type BenchRow,
  type SideResult,
  formatTable,
  imgPerSec,
  median,
  mergeRows,
  parseList,
  ratios,
  ratiosAgainstFaster,
  roundSpread,
  steadinessWarnings,
  summarize,
  validateOptions,
  BENCH_LOSSES,
  BENCH_TRAIN_DEFAULTS,
} from '../../pipeline/bench/train-report.js';
import { DOC_BEGIN, DOC_END, replaceGenerated } from '../../pipeline/bench/train-doc.js';
import { torchUnavailableReason } from '../../pipeline/bench/torch-peer.js';
import { MODEL_FAMILIES } from '../../models/spec.js';

test('median: odd, even, unsorted, empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([10]), 10);
  assert.ok(Number.isNaN(median([])));
  const xs = [5, 1, 4];
  median(xs);
  assert.deepEqual(xs, [5, 1, 4], 'input is not sorted in place');
});

test('imgPerSec: batch * 1000 / ms', () => {
  assert.equal(imgPerSec(128, 250), 512);
  assert.ok(Number.isNaN(imgPerSec(128, 0)));
});

const side = (stepMs: number[][]): SideResult => summarize({ stepMs, cpuMs: stepMs, losses: stepMs.map(() => [1]) }, 100, 'test');

test('summarize: pooled median and per-round img/s', () => {
  const s = side([
    [100, 200, 300],
    [400, 500, 600],
  ]);
  assert.ok(s.available);
  assert.equal(s.medianMs, 350);
  assert.equal(s.imgPerSec, (100 * 1000) / 350);
  assert.deepEqual(s.roundImgPerSec, [500, 200]);
  assert.throws(() => summarize({ stepMs: [[]], cpuMs: [[]], losses: [[]] }, 100, 'x'), /at least one timed step/);
});

test('ratios: median of per-round ratios; null when a side is unavailable', () => {
  const tf = side([[100], [200], [100]]); // 1000, 500, 1000 img/s
  const pt = side([[50], [100], [400]]); // 2000, 1000, 250 img/s
  const r = ratios(tf, pt);
  assert.deepEqual(r.roundRatios, [0.5, 0.5, 4]);
  assert.equal(r.ratio, 0.5);
  assert.equal(r.ratioOfMedians, 1000 / 1000);
  const none = ratios(tf, { available: false, reason: 'No module named torch' });
  assert.deepEqual(none, { ratio: null, roundRatios: [], ratioOfMedians: null });
});

test('torchUnavailableReason: missing interpreter, import error, long lines', () => {
  assert.equal(torchUnavailableReason({ code: 'ENOENT', message: 'spawn x ENOENT' }, '/usr/bin/python3'), '/usr/bin/python3 not found');
  const stderr = "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nModuleNotFoundError: No module named 'torch'\n";
  assert.equal(torchUnavailableReason({ code: 1, message: 'Command failed', stderr }, 'py'), "ModuleNotFoundError: No module named 'torch'");
  assert.equal(torchUnavailableReason({ code: 1, message: 'Command failed: py -c\nmore' }, 'py'), 'Command failed: py -c');
  const long = torchUnavailableReason({ code: 1, stderr: 'E'.repeat(300) }, 'py');
  assert.equal(long.length, 120);
  assert.ok(long.endsWith('...'));
});

function row(over: Partial<BenchRow>): BenchRow {
  const tfjs = side([[250], [250]]);
  const torch = side([[125], [125]]);
  return {
    model: 'cnn28',
    batch: 100,
    loss: 'la-ce',
    backend: 'wasm',
    views: 1,
    torchThreads: 2,
    steps: 1,
    warmup: 1,
    rounds: 2,
    tfjs,
    torch,
    ...ratios(tfjs, torch),
    loadavgBefore: [1, 1, 1],
    loadavgAfter: [1, 1, 1],
    finishedAt: '2020-01-01T00:00:00.000Z',
    ...over,
  };
}

test('formatTable: header, both PyTorch configurations, ratio against the faster, unavailable torch', () => {
  const unavailable: SideResult = { available: false, reason: "ModuleNotFoundError: No module named 'torch'" };
  const tfjs = side([[250], [250]]); // 400 img/s
  const nchw = side([[100], [100]]); // 1000 img/s: faster than channels_last's 800
  const t = formatTable([
    row({ tfjsGflops: 12.345, fractionOfSimdPeak: 0.251 }),
    row({ torchNchw: nchw, ...ratiosAgainstFaster(tfjs, row({}).torch, nchw) }),
    row({ model: 'resnet32', loss: 'ecl', torch: unavailable, torchNchw: unavailable, ...ratiosAgainstFaster(side([[250]]), unavailable, unavailable) }),
  ]);
  const lines = t.split('\n');
  assert.equal(lines[0], '| model | batch | loss | backend | tfjs img/s | PyTorch channels_last img/s | PyTorch NCHW img/s | ratio vs faster | useful GFLOP/s | of wasm SIMD peak |');
  assert.equal(lines[1], '|---|---:|---|---|---:|---:|---:|---:|---:|---:|');
  assert.equal(lines[2], '| cnn28 | 100 | la-ce | wasm | 400.0 | 800.0 (2 thr) | – | 0.50× (channels_last) | 12.3 | 25% |');
  assert.equal(lines[3], '| cnn28 | 100 | la-ce | wasm | 400.0 | 800.0 (2 thr) | 1000.0 (2 thr) | 0.40× (NCHW) | – | – |');
  assert.equal(lines[4], "| resnet32 | 100 | ecl | wasm | 400.0 | unavailable (ModuleNotFoundError: No module named 'torch') | unavailable (ModuleNotFoundError: No module named 'torch') | – | – | – |");
  assert.equal(lines.length, 5);
});

test('ratiosAgainstFaster: picks the faster configuration by median img/s, keeps both ratios', () => {
  const tfjs = side([[100], [100], [100]]); // 1000 img/s
  const cl = side([[50], [50], [200]]); // 2000, 2000, 500 -> median step 50 ms = 2000 img/s
  const nchw = side([[80], [80], [80]]); // 1250
  const r = ratiosAgainstFaster(tfjs, cl, nchw);
  assert.equal(r.torchBest, 'channels_last');
  assert.deepEqual(r.roundRatios, [0.5, 0.5, 2]);
  assert.equal(r.ratio, 0.5);
  assert.equal(r.ratioChannelsLast, 0.5);
  assert.equal(r.ratioNchw, 0.8);
  const slowCl = side([[200], [200], [200]]);
  const r2 = ratiosAgainstFaster(tfjs, slowCl, nchw);
  assert.equal(r2.torchBest, 'nchw');
  assert.equal(r2.ratio, 0.8);
  // An unavailable configuration is never the faster one; NCHW not run at all is the same.
  const gone: SideResult = { available: false, reason: 'x' };
  assert.equal(ratiosAgainstFaster(tfjs, gone, nchw).torchBest, 'nchw');
  assert.equal(ratiosAgainstFaster(tfjs, cl, undefined).torchBest, 'channels_last');
  assert.equal(ratiosAgainstFaster(tfjs, cl, undefined).ratioNchw, null);
  assert.equal(ratiosAgainstFaster(tfjs, gone, gone).ratio, null);
});

test('steadiness: rounds more than 15% apart are warned about, per side', () => {
  assert.equal(roundSpread([100]), 0);
  assert.ok(Math.abs(roundSpread([100, 115]) - 0.15) < 1e-12);
  assert.ok(Math.abs(roundSpread([200, 100, 150]) - 1) < 1e-12);
  const steady = side([[100], [110], [105]]);
  const unsteady = side([[100], [120]]); // 1000 and 833 img/s: 20% apart
  const w = steadinessWarnings({ tfjs: steady, 'PyTorch NCHW': unsteady, missing: undefined, gone: { available: false, reason: 'x' } });
  assert.equal(w.length, 1);
  assert.match(w[0]!, /^PyTorch NCHW: rounds differ by 20% \(> 15%\): 1000 833 img\/s$/);
});

test('replaceGenerated: rewrites only the marked block, appends one when absent, refuses broken markers', () => {
  const doc = `# Title\n\nintro\n\n${DOC_BEGIN}\n\nold table\n\n${DOC_END}\n\nafter\n`;
  const out = replaceGenerated(doc, 'new table');
  assert.equal(out, `# Title\n\nintro\n\n${DOC_BEGIN}\n\nnew table\n\n${DOC_END}\n\nafter\n`);
  assert.equal(replaceGenerated(out, 'new table'), out, 'idempotent');
  assert.equal(replaceGenerated('# T\n', 'x'), `# T\n\n${DOC_BEGIN}\n\nx\n\n${DOC_END}\n`);
  assert.throws(() => replaceGenerated(`${DOC_END}\n${DOC_BEGIN}`, 'x'), /markers/);
});

test('parseList: commas/spaces, dedupe, unknown names rejected', () => {
  assert.deepEqual(parseList('cnn28, resnet32,cnn28', MODEL_FAMILIES, 'models'), ['cnn28', 'resnet32']);
  assert.deepEqual(parseList(['la-ce', 'ecl'], BENCH_LOSSES, 'loss'), ['la-ce', 'ecl']);
  assert.throws(() => parseList('resnet50', MODEL_FAMILIES, 'models'), /--models: unknown 'resnet50'/);
  assert.throws(() => parseList('bcl', BENCH_LOSSES, 'loss'), /--loss: unknown 'bcl'/);
  assert.throws(() => parseList('', BENCH_LOSSES, 'loss'), /at least one/);
});

test('validateOptions: defaults pass; bad counts fail', () => {
  validateOptions(BENCH_TRAIN_DEFAULTS);
  assert.throws(() => validateOptions({ ...BENCH_TRAIN_DEFAULTS, warmup: 0 }), /--warmup must be an integer ≥ 1/);
  assert.throws(() => validateOptions({ ...BENCH_TRAIN_DEFAULTS, steps: 2.5 }), /--steps/);
  assert.throws(() => validateOptions({ ...BENCH_TRAIN_DEFAULTS, batch: 1 }), /--batch/);
  assert.throws(() => validateOptions({ ...BENCH_TRAIN_DEFAULTS, lr: 0 }), /--lr/);
});

test('mergeRows: re-measured cases replace old rows, others are kept', () => {
  const old = [row({ model: 'cnn28', finishedAt: 'old' }), row({ model: 'resnet32', finishedAt: 'old' }), row({ model: 'cnn28', torchThreads: 1, finishedAt: 'old' })];
  const merged = mergeRows(old, [row({ model: 'cnn28', finishedAt: 'new' })]);
  assert.deepEqual(
    merged.map((r) => `${r.model}/${r.torchThreads}/${r.finishedAt}`),
    ['resnet32/2/old', 'cnn28/1/old', 'cnn28/2/new'],
  );
});
