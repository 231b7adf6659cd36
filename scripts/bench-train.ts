// `ecl bench-train` / `make bench-train`: training-step throughput of the tfjs trainer next to a PyTorch
// peer (scripts/torch_peer_bench.py) on the same architecture, loss, batch size and optimiser.
//
// The tfjs side runs the real trainer, `train()` of pipeline/trainer.ts (forward interpreter, loss
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
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DatasetSplits } from '../pipeline/data/types.js';
import type { ModelFamily } from '../models/spec.js';

export const BENCH_LOSSES = ['la-ce', 'ecl'] as const;
export type BenchLoss = (typeof BENCH_LOSSES)[number];

export interface BenchTrainOptions {
  models: ModelFamily[];
  batch: number;
  losses: BenchLoss[];
  /** Timed steps per round. */
  steps: number;
  /** Untimed steps at the start of every round (at least 1: the first timed interval starts at the last warm-up step). */
  warmup: number;
  rounds: number;
  out: string;
  /** Run the PyTorch peer (false: its column says "unavailable (disabled ...)"). */
  torch: boolean;
  python: string;
  /** torch.set_num_threads. */
  threads: number;
  /** Device of the PyTorch peer: cpu, or cuda on a GPU machine. */
  torchDevice: string;
  /** tfjs backend for the trainer (default wasm). */
  backend: string;
  lr: number;
  /** Keep rows of other cases already in `out`. */
  merge: boolean;
  log: (line: string) => void;
}

export const BENCH_TRAIN_DEFAULTS: Omit<BenchTrainOptions, 'log'> = {
  models: ['cnn28', 'resnet32'],
  batch: 128,
  losses: ['la-ce'],
  steps: 5,
  warmup: 2,
  rounds: 3,
  out: 'bench/train.json',
  torch: true,
  python: '/usr/bin/python3',
  threads: 2,
  torchDevice: 'cpu',
  backend: 'wasm',
  lr: 0.01,
  merge: false,
};

/** One side's samples: per round, the timed steps' wall and CPU milliseconds. */
export interface SideSamples {
  stepMs: number[][];
  cpuMs: number[][];
  losses: number[][];
}

export interface SideSummary extends SideSamples {
  available: true;
  /** Median over all timed steps of all rounds. */
  medianMs: number;
  medianCpuMs: number;
  imgPerSec: number;
  /** img/s of each round's median step. */
  roundImgPerSec: number[];
  version: string;
}
export interface SideUnavailable {
  available: false;
  reason: string;
}
export type SideResult = SideSummary | SideUnavailable;

export interface BenchRow {
  model: ModelFamily;
  batch: number;
  loss: BenchLoss;
  backend: string;
  /** Where the tfjs backend ran: the WebGPU adapter, or cpu. */
  backendDetail?: string;
  views: number;
  /** torch.set_num_threads of the PyTorch peer. */
  torchThreads: number;
  /** Device the PyTorch peer ran on (cpu, or e.g. "cuda (NVIDIA H200)"); absent in rows from older runs = cpu. */
  torchDevice?: string;
  /** Timed steps, warm-up steps and rounds of this case (rows merged from several runs may differ). */
  steps: number;
  warmup: number;
  rounds: number;
  tfjs: SideResult;
  torch: SideResult;
  /** Median over rounds of tfjs/PyTorch round img/s; null when either side is unavailable. */
  ratio: number | null;
  roundRatios: number[];
  /** tfjs img/s median / PyTorch img/s median (pooled steps), for reference. */
  ratioOfMedians: number | null;
  loadavgBefore: number[];
  loadavgAfter: number[];
  finishedAt: string;
}

export interface BenchTrainReport {
  generatedAt: string;
  command: string;
  machine: {
    cpus: number;
    cpuModel: string;
    platform: string;
    node: string;
    tfjs: string;
    torch: string | null;
    torchThreads: number;
    python: string;
    loadavgBefore: number[];
    loadavgAfter: number[];
  };
  config: {
    steps: number;
    warmup: number;
    rounds: number;
    lr: number;
    momentum: number;
    weightDecay: number;
    augment: false;
    /** The trainer's default loss hyper-parameters, passed to the PyTorch peer too. */
    loss: LossHP;
  };
  results: BenchRow[];
}

// ---------------------------------------------------------------------------------------------------------
// Pure helpers (unit-tested)

/** Median (mean of the two middle values for an even count); NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function imgPerSec(batch: number, stepMs: number): number {
  return stepMs > 0 ? (batch * 1000) / stepMs : Number.NaN;
}

export function summarize(s: SideSamples, batch: number, version: string): SideSummary {
  if (s.stepMs.length === 0 || s.stepMs.some((r) => r.length === 0)) throw new Error('summarize: every round needs at least one timed step');
  const medianMs = median(s.stepMs.flat());
  return {
    available: true,
    ...s,
    medianMs,
    medianCpuMs: median(s.cpuMs.flat()),
    imgPerSec: imgPerSec(batch, medianMs),
    roundImgPerSec: s.stepMs.map((r) => imgPerSec(batch, median(r))),
    version,
  };
}

/** Per-round ratios, their median, and the ratio of pooled medians; nulls when a side is unavailable. */
export function ratios(tfjs: SideResult, torch: SideResult): { ratio: number | null; roundRatios: number[]; ratioOfMedians: number | null } {
  if (!tfjs.available || !torch.available) return { ratio: null, roundRatios: [], ratioOfMedians: null };
  const n = Math.min(tfjs.roundImgPerSec.length, torch.roundImgPerSec.length);
  const roundRatios = Array.from({ length: n }, (_, i) => tfjs.roundImgPerSec[i]! / torch.roundImgPerSec[i]!);
  return { ratio: median(roundRatios), roundRatios, ratioOfMedians: tfjs.imgPerSec / torch.imgPerSec };
}

/** The reason shown as "unavailable (reason)": the last meaningful line of a failed `import torch`. */
export function torchUnavailableReason(err: { code?: unknown; message?: string; stderr?: string }, python: string): string {
  if (err.code === 'ENOENT') return `${python} not found`;
  const lines = (err.stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const last = lines.at(-1) ?? (err.message ?? 'unknown error').split('\n')[0]!;
  return last.length > 120 ? last.slice(0, 117) + '...' : last;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

export function formatTable(rows: readonly BenchRow[]): string {
  const head = ['model', 'batch', 'loss', 'backend', 'tfjs img/s', 'PyTorch img/s', 'ratio'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h) => (h === 'model' || h === 'loss' || h === 'backend' ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const tf = r.tfjs.available ? fmt(r.tfjs.imgPerSec) : `unavailable (${r.tfjs.reason})`;
    const where = r.torchDevice && r.torchDevice !== 'cpu' ? r.torchDevice.split(' ')[0]! : `${r.torchThreads} thr`;
    const pt = r.torch.available ? `${fmt(r.torch.imgPerSec)} (${where})` : `unavailable (${r.torch.reason})`;
    const ratio = r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`;
    lines.push(`| ${r.model} | ${r.batch} | ${r.loss} | ${r.backend} | ${tf} | ${pt} | ${ratio} |`);
  }
  return lines.join('\n');
}

/** Comma/space separated values, each checked against `allowed`. */
export function parseList<T extends string>(value: string | readonly string[], allowed: readonly T[], what: string): T[] {
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(/[,\s]+/)).filter(Boolean);
  if (items.length === 0) throw new Error(`--${what}: give at least one of ${allowed.join(', ')}`);
  for (const it of items) if (!(allowed as readonly string[]).includes(it)) throw new Error(`--${what}: unknown '${it}' (expected ${allowed.join(', ')})`);
  return [...new Set(items)] as T[];
}

export const rowKey = (r: Pick<BenchRow, 'model' | 'batch' | 'loss' | 'backend' | 'torchThreads' | 'torchDevice'>) =>
  `${r.model}/${r.batch}/${r.loss}/${r.backend}/${r.torchThreads}/${(r.torchDevice ?? 'cpu').split(' ')[0]}`;

/** Earlier rows whose case was not re-measured, then the new rows. */
export function mergeRows(previous: readonly BenchRow[], fresh: readonly BenchRow[]): BenchRow[] {
  const keys = new Set(fresh.map(rowKey));
  return [...previous.filter((r) => !keys.has(rowKey(r))), ...fresh];
}

export function validateOptions(o: Omit<BenchTrainOptions, 'log'>): void {
  const int = (v: number, min: number, what: string) => {
    if (!Number.isInteger(v) || v < min) throw new Error(`--${what} must be an integer ≥ ${min}, got ${v}`);
  };
  int(o.batch, 2, 'batch');
  int(o.steps, 1, 'steps');
  int(o.warmup, 1, 'warmup');
  int(o.rounds, 1, 'rounds');
  int(o.threads, 1, 'threads');
  if (!(o.lr > 0)) throw new Error(`--lr must be positive, got ${o.lr}`);
}

// ---------------------------------------------------------------------------------------------------------
// Measurement

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEER = join(REPO, 'scripts', 'torch_peer_bench.py');
const MOMENTUM = 0.9;
const WEIGHT_DECAY = 5e-4;
const NUM_CLASSES = 10;
/** Training class counts for the log prior: an imbalance-100 exponential profile (as Fashion-MNIST-LT). */
export const CLASS_COUNTS = Array.from({ length: NUM_CLASSES }, (_, c) => Math.round(5000 * Math.pow(0.01, c / (NUM_CLASSES - 1))));

function inputOf(model: ModelFamily) {
  return model === 'cnn28'
    ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] }
    : { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };
}

/** count uint8 images (LCG noise) with labels i mod C, plus a 1-per-class test set and no validation set. */
export function syntheticSplits(model: ModelFamily, count: number): DatasetSplits {
  const inp = inputOf(model);
  const per = inp.height * inp.width * inp.channels;
  const classNames = Array.from({ length: NUM_CLASSES }, (_, c) => `c${c}`);
  const set = (n: number, seed: number) => {
    const images = new Uint8Array(n * per);
    let s = seed >>> 0;
    for (let i = 0; i < images.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      images[i] = (s >>> 8) & 255;
    }
    const labels = Int32Array.from({ length: n }, (_, i) => i % NUM_CLASSES);
    return { images, labels, count: n, height: inp.height, width: inp.width, channels: inp.channels, classNames };
  };
  return {
    name: 'synthetic',
    source: 'bench-train (synthetic uint8 noise)',
    train: set(count, 12345),
    val: set(0, 1),
    test: set(NUM_CLASSES, 999),
    classCounts: CLASS_COUNTS.slice(),
    valCounts: new Array<number>(NUM_CLASSES).fill(0),
    classNames,
    mean: inp.mean,
    std: inp.std,
    imbalanceFactor: CLASS_COUNTS[0]! / CLASS_COUNTS[NUM_CLASSES - 1]!,
    notes: [],
  };
}

export interface LossHP {
  temperature: number;
  laTau: number;
  lambdaBc: number;
  lambdaCc: number;
}

interface RoundOut {
  stepMs: number[];
  cpuMs: number[];
  losses: number[];
  device?: string;
}

/** Where a tfjs backend ran: the WebGPU adapter, or the CPU with the wasm thread count. */
export function backendDetail(details: Record<string, string>): string {
  return details.adapter ?? `cpu, ${details.threads ?? '1 thread'}${details.simd ? `; SIMD kernels: ${details.simd}` : ''}`;
}

export interface TrainerRunOptions {
  model: ModelFamily;
  loss: string;
  batch: number;
  lr: number;
  backend: string;
  /** The in-memory data set: one epoch of it is run (its train split sets the number of steps). */
  data: DatasetSplits;
  onStep: (loss: number) => void;
}

/**
 * The real trainer for one epoch over `data` in a throw-away run directory, with the benchmark's optimiser
 * (constant lr, momentum 0.9, weight decay 5e-4), no augmentation, seed 1 — shared by bench-train and
 * check-train-numerics. Returns the backend that ran.
 */
export async function runTrainerOnce(o: TrainerRunOptions): Promise<{ backend: string; detail: string }> {
  const [{ train }, { resolveConfig }] = await Promise.all([import('../pipeline/trainer.js'), import('../pipeline/config.js')]);
  const dir = mkdtempSync(join(tmpdir(), 'ecl-trainer-run-'));
  const ci = process.env.CI;
  process.env.CI = '1'; // plain progress lines (discarded) instead of a TTY bar
  try {
    const cfg = resolveConfig({
      dataset: o.data.name,
      name: 'bench',
      runsDir: dir,
      model: o.model,
      loss: o.loss,
      batchSize: o.batch,
      epochs: 1,
      lr: o.lr,
      momentum: MOMENTUM,
      weightDecay: WEIGHT_DECAY,
      schedule: 'step',
      stepEpochs: [],
      warmupEpochs: 0,
      augment: false,
      backend: o.backend,
      seed: 1,
    });
    const res = await train(cfg, { data: o.data, log: () => {}, onStep: (_step, l) => o.onStep(l) });
    return { backend: res.backend.name, detail: backendDetail(res.backend.details) };
  } finally {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One tfjs round: `train()` for warm-up + timed steps; intervals between consecutive onStep calls. */
async function tfjsRound(model: ModelFamily, loss: BenchLoss, o: BenchTrainOptions): Promise<RoundOut & { backend: string; backendDetail: string; version: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  const total = o.warmup + o.steps;
  const marks: { t: number; cpu: NodeJS.CpuUsage }[] = [];
  const losses: number[] = [];
  const ran = await runTrainerOnce({
    model,
    loss,
    batch: o.batch,
    lr: o.lr,
    backend: o.backend,
    data: syntheticSplits(model, total * o.batch),
    onStep: (l) => {
      marks.push({ t: performance.now(), cpu: process.cpuUsage() });
      losses.push(l);
    },
  });
  if (marks.length !== total) throw new Error(`tfjs: expected ${total} steps, saw ${marks.length}`);
  const stepMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = o.warmup; i < total; i++) {
    stepMs.push(marks[i]!.t - marks[i - 1]!.t);
    const c0 = marks[i - 1]!.cpu;
    const c1 = marks[i]!.cpu;
    cpuMs.push((c1.user - c0.user + c1.system - c0.system) / 1000);
  }
  return { stepMs, cpuMs, losses, backend: ran.backend, backendDetail: ran.detail, version: tf.version_core };
}

function execFileP(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) rej(Object.assign(err, { stdout, stderr }));
      else res({ stdout, stderr });
    });
  });
}

/** torch version from `python -c 'import torch'`, or the reason it cannot be used. */
export async function probeTorch(python: string): Promise<{ ok: true; version: string; python: string } | { ok: false; reason: string }> {
  try {
    const { stdout } = await execFileP(python, ['-c', 'import sys, torch; print(torch.__version__, sys.version.split()[0])'], 120_000);
    const [version, py] = stdout.trim().split(/\s+/);
    return { ok: true, version: version ?? '?', python: py ?? '?' };
  } catch (e) {
    return { ok: false, reason: torchUnavailableReason(e as { code?: unknown; message?: string; stderr?: string }, python) };
  }
}

async function torchRound(model: ModelFamily, loss: BenchLoss, o: BenchTrainOptions, hp: LossHP): Promise<RoundOut> {
  const args = [
    PEER,
    ...['--model', model, '--batch', String(o.batch), '--loss', loss, '--steps', String(o.steps), '--warmup', String(o.warmup)],
    ...['--threads', String(o.threads), '--device', o.torchDevice, '--lr', String(o.lr), '--momentum', String(MOMENTUM), '--weight-decay', String(WEIGHT_DECAY)],
    ...['--class-counts', CLASS_COUNTS.join(',')],
    ...['--temperature', String(hp.temperature), '--la-tau', String(hp.laTau), '--lambda-bc', String(hp.lambdaBc), '--lambda-cc', String(hp.lambdaCc)],
  ];
  const { stdout } = await execFileP(o.python, args, 20 * 60_000);
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const j = JSON.parse(line) as { stepMs: number[]; cpuMs: number[]; losses: number[]; device?: string };
  return { stepMs: j.stepMs, cpuMs: j.cpuMs, losses: j.losses, device: j.device };
}

const la = () => loadavg().map((x) => Number(x.toFixed(2)));
const r1 = (xs: number[]) => xs.map((x) => Number(x.toFixed(1)));

export async function benchTrain(opts: Partial<BenchTrainOptions> = {}): Promise<BenchTrainReport> {
  const o: BenchTrainOptions = { ...BENCH_TRAIN_DEFAULTS, log: (l) => console.log(l), ...opts };
  validateOptions(o);
  const { DEFAULTS } = await import('../pipeline/config.js');
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

// Standalone: node dist/scripts/bench-train.js [options] (the same options as `ecl bench-train`).
// No top-level await: the command's handler imports this module, which must have finished evaluating.
async function main(): Promise<void> {
  const [{ default: yargs }, { hideBin }, { benchTrainCommand }] = await Promise.all([
    import('yargs'),
    import('yargs/helpers'),
    import('../pipeline/bench-train-command.js'),
  ]);
  await yargs(hideBin(process.argv))
    .scriptName('bench-train')
    .command({ ...benchTrainCommand, command: '$0' })
    .strict()
    .help()
    .fail((msg, err) => {
      process.stderr.write(`bench-train: ${err ? err.message : msg}\n`);
      process.exit(err ? 1 : 2);
    })
    .parseAsync();
}
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench-train: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
