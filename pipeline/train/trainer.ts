// The training loop: seeded data order and augmentation per epoch, tf.variableGrads, SGD with momentum
// and weight decay, BN running statistics, per-epoch evaluation, atomic checkpoints, bit-exact resume.
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModelSpec, initParams } from '../../models/builders.js';
import { classifierWeights, forwardClassifier, projectFeatures, prototypes } from '../../models/forward.js';
import { createLoss } from '../../models/losses/registry.js';
import type { LossPlugin } from '../../models/losses/types.js';
import { deriveRng } from '../../models/rng.js';
import { type ModelSpec, paramName } from '../../models/spec.js';
import { type BackendChoice, describeBackend, selectBackend } from '../backend/select.js';
import { runningStatsStep, sgdMomentumStep } from './optim.js';
import { writeCheckpoint } from '../../models/artifacts/checkpoint.js';
import { openRun, runDirOf, runPaths } from '../../models/artifacts/run-dir.js';
import { type TrainConfig, learningRate } from './config.js';
import { loadRunData } from '../data/run-data.js';
import { isOwnDataset } from '../data/own-defaults.js';
import { formatLongTailProfile } from '../data/own-split.js';
import { datasetRefOf } from '../../models/artifacts/run-config.js';
import type { DatasetSplits } from '../data/types.js';
import { type AugmentOptions, defaultAugmentOptions } from '../data/augment.js';
import { makeViewBatch, referenceViewsFor } from '../data/views.js';
import { type LossWeightRecord, PROCONDUAL_CONSTANTS, normalisedRecord, parseLossWeightRecord } from '../../models/losses/weights.js';
import { reportFromLogits, runInference } from './evaluate.js';
import { OutputDirError, makeOutputDir, removeStaleTempFiles, writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { UsageError } from '../cli/errors.js';
import { ModelState } from './model-state.js';
import { type Progress, createProgress } from './progress.js';
import { epochGeometry } from './geometry-hook.js';

export interface EpochMetrics {
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  lossParts: Record<string, number>;
  imgPerSec: number;
  epochSeconds: number;
  val: { top1: number; balancedAccuracy: number } | null;
  test: {
    top1: number;
    balancedAccuracy: number;
    many: number | null;
    medium: number | null;
    few: number | null;
    perClass: (number | null)[];
  };
  geometry?: Record<string, number>;
  /** --loss-weights normalised: the weight of each term during this epoch (all 1 in epoch 1, which measures them). */
  lossWeights?: Record<string, number>;
  backend: string;
}

export interface TrainResult {
  runDir: string;
  backend: BackendChoice;
  epochs: EpochMetrics[];
  wallSeconds: number;
  imgPerSec: number;
}

export class NonFiniteLossError extends Error {}

/** The run options that shape the model or the objective: a resumed run must keep them (absent = the default). */
const RESUME_FIXED = { views: 'weak', classifier: 'linear', projBn: false, lossWeights: 'fixed' } as const;

/**
 * A loss this many times the first step's (at least 1) means the run diverged: it would finish "successfully"
 * at chance accuracy (e.g. --lr 1e6: loss 2.8e35 after 4 epochs), so it stops with an error instead.
 */
export const DIVERGENCE_FACTOR = 1e3;


function oneHot(labels: Int32Array | number[], C: number): Float32Array {
  const out = new Float32Array(labels.length * C);
  for (let i = 0; i < labels.length; i++) out[i * C + labels[i]!] = 1;
  return out;
}

export interface TrainOptions {
  resume?: boolean;
  /** Stop after this many epochs in this call (for tests of resume); the schedule still uses cfg.epochs. */
  stopAfterEpochs?: number;
  log?: (line: string) => void;
  /** Called after every optimiser step (tests use it to watch tf.memory()). */
  onStep?: (step: number, loss: number) => void;
  /** Test hook: the batch of each step before it runs (pixels: views x B images, view-major, as the model gets them). */
  onBatch?: (step: number, pixels: Float32Array, views: number, labels: Int32Array) => void;
  /** Test hook: replaces the loss value check input (e.g. to inject NaN). */
  lossTransform?: (loss: tf.Scalar, step: number) => tf.Scalar;
  /** Override the data (tests). */
  data?: DatasetSplits;
}

export async function train(cfg: TrainConfig, opts: TrainOptions = {}): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const started = Date.now();
  const backend = await selectBackend(cfg.backend);
  log(describeBackend(backend));
  const runDir = runDirOf(cfg);
  const files = runPaths(runDir);
  const ckptPath = files.checkpoint;

  const data =
    opts.data ??
    (await loadRunData(datasetRefOf(cfg, 'run config'), {
      trainLimit: cfg.trainLimit || undefined,
      testLimit: cfg.testLimit || undefined,
      cacheDir: join(cfg.runsDir, '.cache'),
      log,
    }));
  const C = data.classNames.length;
  for (const note of data.notes) log(`note: ${note}`);
  log(`data: ${data.name} from ${data.source}: train ${data.train.count} (per class ${data.classCounts.join(', ')}), val ${data.val.count}, test ${data.test.count}`);
  for (const line of formatLongTailProfile(data.classNames, data.classCounts)) log(line);
  // Channels chosen from the data are stored, so eval / export-check / parity decode the files the same way.
  if (isOwnDataset(cfg.dataset) && cfg.channels === undefined) cfg = { ...cfg, channels: data.train.channels === 1 ? 1 : 3 };
  const skipped = data.skippedImages?.length ?? 0;
  if (skipped) log(`skipped ${skipped} bad image file(s) (--skip-bad-images); listed in ${files.trainSummary}`);

  let spec: ModelSpec;
  let state: ModelState;
  let startEpoch = 0;
  let step = 0;
  let lossWeights: LossWeightRecord | undefined;
  if (opts.resume) {
    if (!existsSync(ckptPath)) throw new Error(`--resume: no checkpoint at ${ckptPath}`);
    const run = openRun(runDir);
    const ck = run.checkpoint;
    spec = ck.meta.spec;
    const saved = run.config();
    for (const k of ['dataset', 'model', 'loss', 'seed', 'batchSize', 'imbalance'] as const)
      if (saved[k] !== cfg[k]) throw new Error(`--resume: config '${k}' differs from the checkpoint (${String(saved[k])} vs ${String(cfg[k])})`);
    for (const [k, dflt] of Object.entries(RESUME_FIXED) as [keyof typeof RESUME_FIXED, string | boolean][])
      if ((saved[k] ?? dflt) !== (cfg[k] ?? dflt)) throw new Error(`--resume: config '${k}' differs from the checkpoint (${String(saved[k] ?? dflt)} vs ${String(cfg[k] ?? dflt)})`);
    if (ck.meta.lossWeights !== undefined) lossWeights = parseLossWeightRecord(ck.meta.lossWeights, ckptPath);
    // The stored weights were computed from the run's numerators; other lambdas would silently be ignored.
    for (const [term, now] of [['bc', cfg.lambdaBc], ['cc', cfg.lambdaCc]] as const) {
      const was = lossWeights?.constants[term];
      if (was !== undefined && was !== now) throw new Error(`--resume: lambda-${term} ${now} differs from the ${was} the run's normalised loss weights were computed with`);
    }
    if (cfg.lossWeights === 'normalised' && ck.meta.epoch > 0 && !lossWeights)
      throw new Error(`--resume: ${ckptPath} is past epoch 0 of a --loss-weights normalised run but holds no epoch-0 averages`);
    if (ck.meta.backend !== backend.name)
      log(`warning: checkpoint was trained on '${ck.meta.backend}', resuming on '${backend.name}' (results will not be bit-identical)`);
    state = new ModelState(ck.params, ck.optimizer);
    startEpoch = ck.meta.epoch;
    step = ck.meta.step;
    truncateMetrics(files.metrics, startEpoch);
    log(`resuming ${runDir} after epoch ${startEpoch} (step ${step})`);
  } else {
    // A fresh run into an existing run directory starts a new metrics file (not appended to the old one).
    truncateMetrics(files.metrics, 0);
    spec = buildModelSpec(cfg.model, {
      numClasses: C,
      input: { height: data.train.height, width: data.train.width, channels: data.train.channels, mean: data.mean, std: data.std },
      classifier: cfg.classifier ?? 'linear',
      projectionBatchNorm: cfg.projBn ?? false,
    });
    state = new ModelState(initParams(spec, cfg.seed));
  }
  // Before the run folder exists, so a run that cannot start leaves nothing behind.
  if (data.train.count < cfg.batchSize) throw new UsageError(`training set (${data.train.count} images) is smaller than one batch (${cfg.batchSize}): lower --batch-size`);
  try {
    makeOutputDir(runDir);
  } catch (e) {
    throw e instanceof OutputDirError ? new UsageError(e.message) : e;
  }
  // A run killed while writing a checkpoint leaves a temp file; it is never read, so clear it here.
  for (const f of removeStaleTempFiles(runDir)) log(`removed ${f}, left by an interrupted write`);
  writeFileAtomic(files.config, JSON.stringify(cfg, null, 2) + '\n');
  const runInfo = { backend, startedAt: new Date(started).toISOString(), node: process.version, resumeFrom: startEpoch, data: dataFacts(data) };
  const writeRunInfo = () => writeFileAtomic(files.runInfo, JSON.stringify({ ...runInfo, ...(lossWeights ? { lossWeights } : {}) }, null, 2) + '\n');
  writeRunInfo();

  // The direct CC-GE form compares W [C, d] with the prototypes [C, k] element by element.
  if (cfg.ccForm === 'direct' && spec.featureDim !== spec.embeddingDim)
    throw new UsageError(`--cc-form direct needs the feature dim (${spec.featureDim}) to equal the embedding dim (${spec.embeddingDim}); ${cfg.model} has not — use --cc-form gram or a ResNet`);
  // Fixed weights: one plug-in for the run. Normalised: every weight 1 until epoch 0's averages exist, then theirs.
  const fixedLoss = cfg.lossWeights === 'normalised' ? null : createLoss(cfg.loss, cfg);
  const lossForEpoch = (): { loss: LossPlugin; weights?: Record<string, number> } => {
    if (fixedLoss) return { loss: fixedLoss };
    const w = lossWeights?.weights ?? { lc: 1, bc: 1, cc: 1 };
    return { loss: createLoss(cfg.loss, { ...cfg, lambdaLc: w.lc ?? 1, lambdaBc: w.bc ?? 1, lambdaCc: w.cc ?? 0 }), weights: w };
  };
  const B = cfg.batchSize;
  const n = data.train.count;
  const stepsPerEpoch = Math.floor(n / B);
  const { height: H, width: W, channels: Ch } = spec.input;
  const views = createLoss(cfg.loss, cfg).needsContrastiveViews ? 3 : 1;
  const px = H * W * Ch;
  const batchBuf = new Float32Array(views * B * px);
  const viewBuf = new Float32Array(B * px);
  const augOpts: AugmentOptions | null = cfg.augment ? { ...defaultAugmentOptions(spec.input), pad: cfg.cropPad } : null;
  const viewPolicy =
    cfg.views === 'reference' && augOpts
      ? ({ kind: 'reference', views: referenceViewsFor(spec.input, augOpts) } as const)
      : ({ kind: 'weak', crop: augOpts } as const);
  const trainVars = [...state.trainable.values()];
  const trainNames = [...state.trainable.keys()];
  const decayed = new Set(trainNames.filter((nm) => nm.endsWith('/kernel')));
  const epochs: EpochMetrics[] = [];
  const lastEpoch = opts.stopAfterEpochs ? Math.min(cfg.epochs, startEpoch + opts.stopAfterEpochs) : cfg.epochs;
  let totalImages = 0;
  let totalTrainSeconds = 0;
  let firstLoss: number | undefined;

  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const order = deriveRng(cfg.seed, 'shuffle', epoch).shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
      const augRng = deriveRng(cfg.seed, 'augment', epoch);
      const progress: Progress = createProgress(`epoch ${epoch + 1}/${cfg.epochs}`, stepsPerEpoch, log);
      const { loss, weights: epochWeights } = lossForEpoch();
      const t0 = Date.now();
      let lossSum = 0;
      const partSums: Record<string, number> = {};
      let lr = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const idx = order.slice(s * B, (s + 1) * B);
        const labels = Int32Array.from(idx, (i) => data.train.labels[i]!);
        for (let v = 0; v < views; v++) {
          makeViewBatch(data.train, idx, augRng, v, viewPolicy, viewBuf);
          batchBuf.set(viewBuf, v * B * px);
        }
        lr = learningRate(cfg, epoch + s / stepsPerEpoch);
        opts.onBatch?.(step, batchBuf, views, labels);
        const { lossValue, parts } = await trainStep(spec, state, loss, {
          pixels: batchBuf,
          labels,
          B,
          views,
          classCounts: data.classCounts,
          lr,
          momentum: cfg.momentum,
          weightDecay: cfg.weightDecay,
          decayed,
          trainVars,
          trainNames,
          lossTransform: opts.lossTransform ? (l) => opts.lossTransform!(l, step) : undefined,
        });
        firstLoss ??= lossValue;
        const diverged = Number.isFinite(lossValue) && lossValue > DIVERGENCE_FACTOR * Math.max(Math.abs(firstLoss), 1);
        if (!Number.isFinite(lossValue) || diverged) {
          progress.stop();
          throw new NonFiniteLossError(
            (diverged
              ? `training diverged: loss ${lossValue.toExponential(2)} at epoch ${epoch + 1}, step ${s + 1} (global step ${step + 1}) is over ${DIVERGENCE_FACTOR}x the first step's ${firstLoss.toFixed(3)}; stopped. `
              : `loss became ${lossValue} at epoch ${epoch + 1}, step ${s + 1} (global step ${step + 1}); stopped. `) +
              (existsSync(ckptPath) ? `The last good checkpoint (${ckptPath}) is kept.` : 'No checkpoint was written yet.') +
              ' Try a lower --lr.',
          );
        }
        step++;
        lossSum += lossValue;
        for (const [k, v] of Object.entries(parts)) partSums[k] = (partSums[k] ?? 0) + v;
        const secs = (Date.now() - t0) / 1000;
        progress.update(s + 1, { loss: lossValue, imgPerSec: ((s + 1) * B) / Math.max(secs, 1e-9) });
        opts.onStep?.(step, lossValue);
      }
      progress.stop();
      const epochSeconds = (Date.now() - t0) / 1000;
      totalImages += stepsPerEpoch * B;
      if (cfg.lossWeights === 'normalised' && epoch === 0) {
        // ProConDual: weight = constant / the term's epoch-0 average, for the terms this loss has.
        const constants: Record<string, number> = { lc: PROCONDUAL_CONSTANTS.lc, bc: cfg.lambdaBc, cc: cfg.lambdaCc };
        const present = Object.fromEntries(Object.keys(partSums).filter((k) => k in constants).map((k) => [k, constants[k]!]));
        lossWeights = normalisedRecord(present, Object.fromEntries(Object.entries(partSums).map(([k, v]) => [k, v / stepsPerEpoch])));
        log(`loss weights (normalised): epoch-0 averages ${fmtTerms(lossWeights.epoch0Means)} -> weights ${fmtTerms(lossWeights.weights)}`);
        writeRunInfo();
      }
      totalTrainSeconds += epochSeconds;

      const params = state.params();
      const testRes = await runInference(spec, params, data.test);
      const test = reportFromLogits(testRes, data.test.labels, C, data.classCounts);
      let val: EpochMetrics['val'] = null;
      if (data.val.count > 0) {
        const vr = reportFromLogits(await runInference(spec, params, data.val), data.val.labels, C, data.classCounts);
        val = { top1: vr.top1, balancedAccuracy: vr.balancedAccuracy };
      }
      const geometry = await epochGeometry(spec, params, testRes, data.test.labels);
      const m: EpochMetrics = {
        epoch: epoch + 1,
        step,
        lr,
        trainLoss: lossSum / stepsPerEpoch,
        lossParts: Object.fromEntries(Object.entries(partSums).map(([k, v]) => [k, v / stepsPerEpoch])),
        imgPerSec: (stepsPerEpoch * B) / epochSeconds,
        epochSeconds,
        val,
        test: {
          top1: test.top1,
          balancedAccuracy: test.balancedAccuracy,
          many: test.many.accuracy,
          medium: test.medium.accuracy,
          few: test.few.accuracy,
          perClass: test.perClassAccuracy,
        },
        ...(geometry ? { geometry } : {}),
        ...(epochWeights ? { lossWeights: Object.fromEntries(Object.keys(partSums).map((k) => [k, epochWeights[k] ?? 1])) } : {}),
        backend: backend.name,
      };
      epochs.push(m);
      const pct = (v: number | null) => (v === null ? '  -  ' : (100 * v).toFixed(2));
      log(
        `epoch ${m.epoch}/${cfg.epochs}: loss ${m.trainLoss.toFixed(4)}, test top-1 ${pct(test.top1)}%, balanced ${pct(test.balancedAccuracy)}%, ` +
          `many/med/few ${pct(test.many.accuracy)}/${pct(test.medium.accuracy)}/${pct(test.few.accuracy)}, ` +
          (val ? `val top-1 ${pct(val.top1)}%, ` : '') +
          `${m.imgPerSec.toFixed(1)} img/s, ${epochSeconds.toFixed(1)} s [${backend.name}]`,
      );
      writeCheckpoint(ckptPath, {
        meta: {
          version: 1,
          spec,
          config: cfg as unknown as Record<string, unknown>,
          epoch: epoch + 1,
          step,
          backend: backend.name,
          classNames: data.classNames,
          classCounts: data.classCounts,
          createdAt: new Date().toISOString(),
          ...(lossWeights ? { lossWeights } : {}),
        },
        params: await state.toStore('params'),
        optimizer: await state.toStore('momentum'),
      });
      appendFileSync(files.metrics, JSON.stringify(m) + '\n');
    }
  } finally {
    state.dispose();
  }
  const wallSeconds = (Date.now() - started) / 1000;
  const result: TrainResult = { runDir, backend, epochs, wallSeconds, imgPerSec: totalTrainSeconds > 0 ? totalImages / totalTrainSeconds : 0 };
  writeFileAtomic(
    files.trainSummary,
    JSON.stringify(
      { backend: backend.name, wallSeconds, imgPerSec: result.imgPerSec, last: epochs.at(-1) ?? null, ...(data.skippedImages ? { skippedBadImages: skipped, skippedFiles: data.skippedImages.slice(0, 1000) } : {}) },
      null,
      2,
    ) + '\n',
  );
  return result;
}

export interface StepInputs {
  pixels: Float32Array;
  labels: Int32Array;
  B: number;
  views: number;
  classCounts: number[];
  lr: number;
  momentum: number;
  weightDecay: number;
  decayed: Set<string>;
  trainVars: tf.Variable[];
  trainNames: string[];
  lossTransform?: (l: tf.Scalar) => tf.Scalar;
}

/** One optimiser step; returns the loss (read back to check it is finite). Exported for the benchmarks: the
 * per-kernel profile and the teacher-forced gradient check run exactly this step (pipeline/bench/one-step.ts). */
export async function trainStep(spec: ModelSpec, state: ModelState, loss: LossPlugin, s: StepInputs): Promise<{ lossValue: number; parts: Record<string, number> }> {
  const { height: H, width: W, channels: Ch } = spec.input;
  const C = spec.numClasses;
  const bnStats: { layer: string; mean: tf.Tensor1D; variance: tf.Tensor1D }[] = [];
  const partTensors: Record<string, tf.Scalar> = {};
  const params = state.params();
  const x = tf.tensor4d(s.pixels, [s.views * s.B, H, W, Ch]);
  const y1 = tf.tensor2d(oneHot(s.labels, C), [s.B, C]);
  const yEmb = s.views === 3 ? tf.tensor2d(oneHot(Int32Array.from([...s.labels, ...s.labels]), C), [2 * s.B, C]) : undefined;
  const { value, grads } = tf.variableGrads(() => {
    // Every BatchNorm's batch statistics, the projection head's (--proj-bn) included, feed the running statistics.
    const fwd = {
      training: true,
      onBatchStats: (layer: string, mean: tf.Tensor1D, variance: tf.Tensor1D) => {
        bnStats.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance) });
      },
    };
    const out = forwardClassifier(spec, params, x, fwd);
    const logits = s.views === 3 ? tf.slice(out.logits, [0, 0], [s.B, C]) : out.logits;
    const W = classifierWeights(spec, params);
    let embeddings: tf.Tensor2D | undefined;
    let protos: tf.Tensor2D | undefined;
    if (s.views === 3) {
      const h23 = tf.slice(out.features, [s.B, 0], [2 * s.B, spec.featureDim]);
      embeddings = projectFeatures(spec, params, h23, fwd);
      protos = prototypes(spec, params);
    }
    const res = loss.compute({
      logits,
      oneHot: y1,
      classCounts: s.classCounts,
      embeddings,
      embeddingOneHot: yEmb,
      prototypes: protos,
      classifierWeights: W,
    });
    for (const [k, v] of Object.entries(res.parts)) partTensors[k] = tf.keep(v);
    return s.lossTransform ? s.lossTransform(res.total) : res.total;
  }, s.trainVars);

  tf.tidy(() => {
    // BN running statistics (momentum m: new = m*old + (1-m)*batch; biased batch variance, as Keras does).
    const bnMomentum = new Map<string, number>();
    const walk = (ls: ModelSpec['backbone']) =>
      ls.forEach((l) => (l.kind === 'batchnorm' ? bnMomentum.set(l.name, l.momentum) : l.kind === 'residual' ? (walk(l.body), walk(l.shortcut)) : 0));
    walk(spec.backbone);
    walk(spec.projector);
    for (const st of bnStats) {
      const m = bnMomentum.get(st.layer) ?? 0.9;
      const mm = state.buffers.get(paramName(st.layer, 'movingMean'))!;
      const mv = state.buffers.get(paramName(st.layer, 'movingVariance'))!;
      runningStatsStep(mm, st.mean, mv, st.variance, m);
    }
    // SGD with momentum (PyTorch convention): v = mu*v + g + wd*w; w -= lr*v.
    for (let i = 0; i < s.trainVars.length; i++) {
      const name = s.trainNames[i]!;
      const w = s.trainVars[i]!;
      const g = grads[w.name];
      if (!g) continue;
      sgdMomentumStep(w, state.momentum.get(name)!, g, { lr: s.lr, momentum: s.momentum, weightDecay: s.decayed.has(name) ? s.weightDecay : 0 });
    }
  });
  const lossValue = (await value.data())[0]!;
  const parts: Record<string, number> = {};
  for (const [k, t] of Object.entries(partTensors)) {
    parts[k] = (await t.data())[0]!;
    t.dispose();
  }
  for (const st of bnStats) {
    st.mean.dispose();
    st.variance.dispose();
  }
  tf.dispose([value, x, y1, ...(yEmb ? [yEmb] : []), ...Object.values(grads)]);
  return { lossValue, parts };
}

const fmtTerms = (r: Record<string, number>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
    .join(', ');

/** The split sizes and where validation comes from, for run.json (the notes say the rest). */
function dataFacts(d: DatasetSplits) {
  return {
    name: d.name,
    train: d.train.count,
    val: d.val.count,
    test: d.test.count,
    valSplit: d.valSplit ?? 'dataset',
    notes: d.notes,
  };
}

/** Keeps the metrics lines of epochs <= keepEpochs: on resume the later ones are recomputed; a fresh run keeps none. */
function truncateMetrics(path: string, keepEpochs: number): void {
  if (!existsSync(path)) return;
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .filter((l) => (JSON.parse(l) as { epoch: number }).epoch <= keepEpochs);
  writeFileSync(path, lines.map((l) => l + '\n').join(''));
}
