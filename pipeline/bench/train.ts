// `ecl bench-train` / `make bench-train`: training-step throughput of the tfjs trainer next to a PyTorch
// peer (scripts/torch_peer_bench.py) on the same architecture, loss, batch size and optimiser.
//
// The tfjs side runs the real trainer, `train()` of pipeline/train/trainer.ts (forward interpreter, loss
// plug-in, BN running statistics, SGD with momentum and weight decay), on a synthetic in-memory data set
// of exactly warm-up + timed steps batches, one epoch, no augmentation; it times the interval between
// consecutive `onStep` callbacks (one whole loop iteration: batch assembly, step, loss read-back).
// The PyTorch side is a child process of /usr/bin/python3 (2 threads) timing forward + backward + step.
//
// The machine may be shared, so the two sides are interleaved: for every (model, loss) case, `rounds`
// rounds, each one tfjs run and one PyTorch run (order alternating between rounds); the ratio is the median
// over rounds of the per-round ratio of medians, so both sides of a ratio saw the same load.
//
// Usage: node dist/scripts/bench-train.js [--models cnn28,resnet32] [--batch 128] [--loss la-ce|ecl]
//        [--steps 5] [--warmup 2] [--rounds 3] [--out bench/train.json] [--no-torch] [--merge]
//
// This file orchestrates the rounds and writes the report; the pieces live in train-report.ts (options,
// row/report shapes, medians, ratios, the table), trainer-run.ts (synthetic data, the tfjs trainer run)
// and torch-peer.ts (the PyTorch peer process).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
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
  ratios,
  summarize,
  validateOptions,
} from './train-report.js';
import { MOMENTUM, WEIGHT_DECAY, tfjsRound } from './trainer-run.js';
import { probeTorch, torchRound, torchUnavailableReason } from './torch-peer.js';

const la = () => loadavg().map((x) => Number(x.toFixed(2)));
const r1 = (xs: number[]) => xs.map((x) => Number(x.toFixed(1)));

export async function benchTrain(opts: Partial<BenchTrainOptions> = {}): Promise<BenchTrainReport> {
  const o: BenchTrainOptions = { ...BENCH_TRAIN_DEFAULTS, log: (l) => console.log(l), ...opts };
  validateOptions(o);
  const { DEFAULTS } = await import('../train/config.js');
  const hp: LossHP = { temperature: DEFAULTS.temperature, laTau: DEFAULTS.laTau, lambdaBc: DEFAULTS.lambdaBc, lambdaCc: DEFAULTS.lambdaCc };
  const loadBefore = la();
  const probe = o.torch ? await probeTorch(o.python) : ({ ok: false, reason: 'disabled by --no-torch' } as const);
  if (!probe.ok) o.log(`PyTorch peer: unavailable (${probe.reason})`);
  else o.log(`PyTorch peer: torch ${probe.version} (Python ${probe.python}, ${o.torchDevice === 'cpu' ? `${o.threads} threads` : o.torchDevice}) via ${o.python}`);
  let tfjsVersion = '?';
  const rows: BenchRow[] = [];
  for (const model of o.models) {
    for (const loss of o.losses) {
      const views = loss === 'ecl' ? 3 : 1;
      const rowLoadBefore = la();
      const tf: SideSamples = { stepMs: [], cpuMs: [], losses: [] };
      const pt: SideSamples = { stepMs: [], cpuMs: [], losses: [] };
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
        const runPt = async () => {
          if (torchFail) return;
          try {
            const out = await torchRound(model, loss, o, hp);
            pt.stepMs.push(r1(out.stepMs));
            pt.cpuMs.push(r1(out.cpuMs));
            pt.losses.push(out.losses);
            torchDevice = out.device ?? torchDevice;
            o.log(`  ${model} ${loss} round ${r + 1}/${o.rounds} PyTorch: median ${median(out.stepMs).toFixed(0)} ms/step = ${imgPerSec(o.batch, median(out.stepMs)).toFixed(1)} img/s`);
          } catch (e) {
            torchFail = `peer failed: ${torchUnavailableReason(e as { code?: unknown; message?: string; stderr?: string }, o.python)}`;
            o.log(`  PyTorch ${torchFail}`);
          }
        };
        // Alternate which side goes first, so a load trend does not favour one side.
        if (r % 2 === 0) {
          await runTf();
          await runPt();
        } else {
          await runPt();
          await runTf();
        }
      }
      const tfjsRes: SideResult = summarize(tf, o.batch, `tfjs ${tfjsVersion}`);
      const torchRes: SideResult = torchFail || !probe.ok ? { available: false, reason: torchFail ?? 'unknown' } : summarize(pt, o.batch, `torch ${probe.version}`);
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
        ...ratios(tfjsRes, torchRes),
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
    command: process.argv.slice(1).join(' '),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      platform: `${process.platform} ${process.arch}`,
      node: process.version,
      tfjs: tfjsVersion,
      torch: probe.ok ? probe.version : null,
      torchThreads: o.threads,
      python: probe.ok ? probe.python : o.python,
      loadavgBefore: loadBefore,
      loadavgAfter: la(),
    },
    config: { steps: o.steps, warmup: o.warmup, rounds: o.rounds, lr: o.lr, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY, augment: false, loss: hp },
    results,
  };
  mkdirSync(dirname(resolve(o.out)), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 2) + '\n');
  o.log('');
  o.log(formatTable(results));
  o.log('');
  o.log(
    `${report.machine.cpus} CPUs (${report.machine.cpuModel}), load average ${loadBefore.join(' ')} -> ${report.machine.loadavgAfter.join(' ')}; ` +
      `node ${process.version}, tfjs ${tfjsVersion}, ${report.machine.torch ? `torch ${report.machine.torch} (${o.threads} threads)` : 'torch unavailable'}; ` +
      `${o.rounds} rounds x ${o.steps} timed steps after ${o.warmup} warm-up. Ratio: median over rounds of tfjs/PyTorch. Wrote ${o.out}`,
  );
  return report;
}
