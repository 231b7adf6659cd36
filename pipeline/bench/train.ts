// `ecl bench-train` / `make bench-train`: training-step throughput of the tfjs trainer next to a PyTorch
// peer (scripts/torch_peer_bench.py) on the same architecture, loss, batch size and optimiser.
//
// The tfjs side runs the real trainer, `train()` of pipeline/train/trainer.ts (forward interpreter, loss
// plug-in, BN running statistics, SGD with momentum and weight decay), on a synthetic in-memory data set
// of exactly warm-up + timed steps batches, one epoch, no augmentation; it times the interval between
// consecutive `onStep` callbacks (one whole loop iteration: batch assembly, step, loss read-back).
// The PyTorch side is a child process of /usr/bin/python3 (2 threads) timing forward + backward + step, in
// two configurations: channels_last model and input (PyTorch's CPU performance guide; mkldnn on) and NCHW.
//
// The machine may be shared, so the sides are interleaved: for every (model, loss) case, `rounds` rounds,
// each one tfjs run and one run of each PyTorch configuration (the order rotating between rounds); the ratio
// is the median over rounds of the per-round ratio of medians against the faster PyTorch configuration, so
// both sides of a ratio saw the same load. Sides whose rounds differ by more than 15% are warned about.
// Also: the wasm SIMD peak of this CPU (simd-peak.ts) and each step's useful GFLOP/s (step-flops.ts).
//
// Usage: node dist/scripts/bench-train.js [--models cnn28,resnet32] [--batch 128] [--loss la-ce|ecl]
//        [--steps 5] [--warmup 2] [--rounds 3] [--out bench/train.json] [--no-torch] [--no-nchw] [--merge]
//        [--doc docs/training-speed.md] [--note TEXT] [--profile | --profile-only]
//
// This file orchestrates the rounds and writes the report; the pieces live in train-report.ts (options,
// row/report shapes, medians, ratios, the table), trainer-run.ts (synthetic data, the tfjs trainer run)
// and torch-peer.ts (the PyTorch peer process).
import { cpuFeatures, describeCpuFeatures } from './cpu-features.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { buildModelSpec } from '../../models/builders.js';
import type { ModelFamily } from '../../models/spec.js';
import {
  type BenchRow,
  type BenchTrainOptions,
  type BenchTrainReport,
  type LossHP,
  type SideResult,
  type SideSamples,
  BENCH_TRAIN_DEFAULTS,
  formatTable,
  imgPerSec,
  median,
  mergeRows,
  ratiosAgainstFaster,
  steadinessWarnings,
  summarize,
  validateOptions,
} from './train-report.js';
import { MOMENTUM, WEIGHT_DECAY, tfjsRound } from './trainer-run.js';
import { type TorchMemoryFormat, probeTorch, torchRound, torchUnavailableReason } from './torch-peer.js';
import { stepFlops } from './step-flops.js';
import { simdPeak } from './simd-peak.js';
import { writeTrainingSpeedDoc } from './train-doc.js';

/** Conv + dense FLOPs of one step of `model` at `batch` (ECL: 3 views), in GFLOP. */
export function stepGflopOf(model: ModelFamily, batch: number, views: 1 | 3): number {
  const input = model === 'cnn28' ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] } : { height: 32, width: 32, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] };
  return stepFlops(buildModelSpec(model, { numClasses: 10, input }), batch, views).total / 1e9;
}

const la = () => loadavg().map((x) => Number(x.toFixed(2)));
const r1 = (xs: number[]) => xs.map((x) => Number(x.toFixed(1)));

/** Runs the benchmark and returns its report (null with profileOnly, which writes only the profile). */
export async function benchTrain(opts: Partial<BenchTrainOptions> = {}): Promise<BenchTrainReport | null> {
  const o: BenchTrainOptions = { ...BENCH_TRAIN_DEFAULTS, log: (l) => console.log(l), ...opts };
  validateOptions(o);
  if (o.profileOnly) {
    const { profileTrain } = await import('./train-profile.js');
    await profileTrain({ cases: o.models.flatMap((m) => o.losses.map((l) => ({ model: m, loss: l }))), batch: o.batch, out: profilePathOf(o.out), log: o.log });
    return null;
  }
  const { DEFAULTS } = await import('../train/config.js');
  const hp: LossHP = { temperature: DEFAULTS.temperature, laTau: DEFAULTS.laTau, lambdaBc: DEFAULTS.lambdaBc, lambdaCc: DEFAULTS.lambdaCc };
  const loadBefore = la();
  const probe = o.torch ? await probeTorch(o.python) : ({ ok: false, reason: 'disabled by --no-torch' } as const);
  if (!probe.ok) o.log(`PyTorch peer: unavailable (${probe.reason})`);
  else o.log(`PyTorch peer: torch ${probe.version} (Python ${probe.python}, ${o.torchDevice === 'cpu' ? `${o.threads} threads` : o.torchDevice}) via ${o.python}`);
  let tfjsVersion = '?';
  // The wasm SIMD peak at the kernels' thread count (the CPU backends only: a GPU row has no such limit).
  const peak = o.backend === 'wasm' ? await simdPeak(o.threads) : null;
  if (peak)
    o.log(`wasm SIMD peak (f32x4 mul+add): ${peak.gflopsOneThread.toFixed(1)} GFLOP/s on 1 thread, ${peak.gflopsAllThreads.toFixed(1)} on ${peak.threads}; ${peak.relaxedNote}`);
  const rows: BenchRow[] = [];
  for (const model of o.models) {
    for (const loss of o.losses) {
      const views: 1 | 3 = loss === 'ecl' ? 3 : 1;
      const rowLoadBefore = la();
      const tf: SideSamples = { stepMs: [], cpuMs: [], losses: [] };
      const formats: TorchMemoryFormat[] = o.nchw ? ['channels_last', 'nchw'] : ['channels_last'];
      const pt: Record<TorchMemoryFormat, SideSamples> = {
        channels_last: { stepMs: [], cpuMs: [], losses: [] },
        nchw: { stepMs: [], cpuMs: [], losses: [] },
      };
      let backend = o.backend;
      let backendDetail = '';
      let torchFail: string | null = probe.ok ? null : probe.reason;
      let torchDevice = o.torchDevice;
      for (let r = 0; r < o.rounds; r++) {
        const runTf = async () => {
          const out = await tfjsRound(model, loss, o);
          backend = out.backend;
          backendDetail = out.backendDetail;
          tfjsVersion = out.version;
          tf.stepMs.push(r1(out.stepMs));
          tf.cpuMs.push(r1(out.cpuMs));
          tf.losses.push(out.losses);
          o.log(`  ${model} ${loss} round ${r + 1}/${o.rounds} tfjs ${out.backend}: median ${median(out.stepMs).toFixed(0)} ms/step = ${imgPerSec(o.batch, median(out.stepMs)).toFixed(1)} img/s`);
        };
        const runPt = (fmt: TorchMemoryFormat) => async () => {
          if (torchFail) return;
          try {
            const out = await torchRound(model, loss, o, hp, fmt);
            pt[fmt].stepMs.push(r1(out.stepMs));
            pt[fmt].cpuMs.push(r1(out.cpuMs));
            pt[fmt].losses.push(out.losses);
            torchDevice = out.device ?? torchDevice;
            o.log(`  ${model} ${loss} round ${r + 1}/${o.rounds} PyTorch ${fmt}: median ${median(out.stepMs).toFixed(0)} ms/step = ${imgPerSec(o.batch, median(out.stepMs)).toFixed(1)} img/s`);
          } catch (e) {
            torchFail = `peer failed: ${torchUnavailableReason(e as { code?: unknown; message?: string; stderr?: string }, o.python)}`;
            o.log(`  PyTorch ${torchFail}`);
          }
        };
        // Rotate which side goes first, so a load trend does not favour one side.
        const order = [runTf, ...formats.map(runPt)];
        for (let k = 0; k < order.length; k++) await order[(k + r) % order.length]!();
      }
      const tfjsRes: SideResult = summarize(tf, o.batch, `tfjs ${tfjsVersion}`);
      const torchSide = (fmt: TorchMemoryFormat): SideResult =>
        torchFail || !probe.ok ? { available: false, reason: torchFail ?? 'unknown' } : summarize(pt[fmt], o.batch, `torch ${probe.version} ${fmt}`);
      const torchRes = torchSide('channels_last');
      const torchNchw = o.nchw ? torchSide('nchw') : undefined;
      const stepGflop = stepGflopOf(model, o.batch, views);
      const tfjsGflops = tfjsRes.available ? stepGflop / (tfjsRes.medianMs / 1000) : undefined;
      const warnings = steadinessWarnings({ tfjs: tfjsRes, 'PyTorch channels_last': torchRes, 'PyTorch NCHW': torchNchw });
      for (const w of warnings) o.log(`  warning: ${model} ${loss} ${w}`);
      rows.push({
        model,
        batch: o.batch,
        loss,
        backend,
        backendDetail,
        views,
        torchThreads: o.threads,
        torchDevice,
        steps: o.steps,
        warmup: o.warmup,
        rounds: o.rounds,
        tfjs: tfjsRes,
        torch: torchRes,
        ...(torchNchw ? { torchNchw } : {}),
        ...ratiosAgainstFaster(tfjsRes, torchRes, torchNchw),
        stepGflop: Number(stepGflop.toFixed(3)),
        ...(tfjsGflops !== undefined ? { tfjsGflops: Number(tfjsGflops.toFixed(2)) } : {}),
        fractionOfSimdPeak: tfjsGflops !== undefined && peak ? Number((tfjsGflops / peak.gflopsAllThreads).toFixed(3)) : null,
        warnings,
        loadavgBefore: rowLoadBefore,
        loadavgAfter: la(),
        finishedAt: new Date().toISOString(),
      });
    }
  }

  let results = rows;
  if (o.merge && existsSync(o.out)) {
    try {
      const prev = JSON.parse(readFileSync(o.out, 'utf8')) as Partial<BenchTrainReport>;
      if (Array.isArray(prev.results)) results = mergeRows(prev.results, rows);
    } catch (e) {
      o.log(`--merge: ignoring unreadable ${o.out} (${(e as Error).message})`);
    }
  }
  const report: BenchTrainReport = {
    generatedAt: new Date().toISOString(),
    command: process.argv.slice(1).map((a) => (/[\s'"]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' '),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      cpuFeatures: cpuFeatures(),
      platform: `${process.platform} ${process.arch}`,
      node: process.version,
      tfjs: tfjsVersion,
      torch: probe.ok ? probe.version : null,
      torchThreads: o.threads,
      python: probe.ok ? probe.python : o.python,
      loadavgBefore: loadBefore,
      loadavgAfter: la(),
      ...(peak ? { simdPeak: { ...peak, gflopsOneThread: Number(peak.gflopsOneThread.toFixed(2)), gflopsAllThreads: Number(peak.gflopsAllThreads.toFixed(2)), relaxedMaddGflopsOneThread: peak.relaxedMaddGflopsOneThread === null ? null : Number(peak.relaxedMaddGflopsOneThread.toFixed(2)) } } : {}),
      ...(o.note ? { note: o.note } : {}),
    },
    config: { steps: o.steps, warmup: o.warmup, rounds: o.rounds, lr: o.lr, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY, augment: false, loss: hp },
    results,
  };
  mkdirSync(dirname(resolve(o.out)), { recursive: true });
  writeFileAtomic(o.out, JSON.stringify(report, null, 2) + '\n');
  o.log('');
  o.log(formatTable(results));
  o.log('');
  o.log(
    `${report.machine.cpus} CPUs (${report.machine.cpuModel}; ${describeCpuFeatures(report.machine.cpuFeatures)}), load average ${loadBefore.join(' ')} -> ${report.machine.loadavgAfter.join(' ')}; ` +
      `node ${process.version}, tfjs ${tfjsVersion}, ${report.machine.torch ? `torch ${report.machine.torch} (${o.threads} threads)` : 'torch unavailable'}; ` +
      `${o.rounds} rounds x ${o.steps} timed steps after ${o.warmup} warm-up. Ratio: median over rounds of tfjs / the faster PyTorch configuration. Wrote ${o.out}`,
  );
  if (o.doc) {
    writeTrainingSpeedDoc(o.doc, report);
    o.log(`updated the generated table in ${o.doc}`);
  }
  if (o.profile) {
    const { profileTrain } = await import('./train-profile.js');
    await profileTrain({ cases: o.models.flatMap((m) => o.losses.map((l) => ({ model: m, loss: l }))), batch: o.batch, out: profilePathOf(o.out), log: o.log });
  }
  return report;
}

/** bench/train.json -> bench/train-profile.json */
export const profilePathOf = (out: string) => out.replace(/\.json$/, '') + '-profile.json';
