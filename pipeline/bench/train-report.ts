// bench-train's pure report side: the options and their defaults, the shapes of samples, rows and the
// written report, and the arithmetic over them (medians, img/s, per-side summaries, tfjs/PyTorch ratios),
// the markdown table, row keys and merging, option validation and list parsing. No benchmark runs here;
// tests/unit/bench-train.test.ts covers it.
import type { CpuFeatures } from './cpu-features.js';
import type { ModelFamily } from '../../models/spec.js';

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
  /** Also run the peer with contiguous NCHW tensors (its channels_last run always runs). */
  nchw: boolean;
  /** Markdown file whose generated table (between the bench-train markers) is rewritten from the report; '' = none. */
  doc: string;
  /** Free text stored in the report, e.g. 'machine shared'. */
  note: string;
  /** After the rounds, profile one step per case (ms per kernel) into `<out without .json>-profile.json`. */
  profile: boolean;
  /** Only the profile (no timed rounds, no train.json). */
  profileOnly: boolean;
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
  nchw: true,
  profile: false,
  profileOnly: false,
  doc: '',
  note: '',
};

/** Rounds whose img/s differ by more than this (max/min - 1) are flagged as unsteady. */
export const UNSTEADY_SPREAD = 0.15;

/** One side's samples: per round, the timed steps' wall and CPU milliseconds. */
export interface SideSamples {
  stepMs: number[][];
  cpuMs: number[][];
  losses: number[][];
}

/** One round of one side: its timed steps' wall and CPU milliseconds and losses (and the PyTorch device). */
export interface RoundOut {
  stepMs: number[];
  cpuMs: number[];
  losses: number[];
  device?: string;
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
  /** The PyTorch peer with model and input in channels_last (PyTorch's recommended CPU setup; rows from runs before it: NCHW). */
  torch: SideResult;
  /** The same peer with contiguous NCHW tensors (absent in older rows). */
  torchNchw?: SideResult;
  /** Which PyTorch configuration was faster (median img/s): the ratio is taken against it. */
  torchBest?: 'channels_last' | 'nchw';
  /** Median over rounds of tfjs img/s / the faster PyTorch configuration's img/s; null when unavailable. */
  ratio: number | null;
  roundRatios: number[];
  /** tfjs img/s median / PyTorch img/s median (pooled steps), for reference. */
  ratioOfMedians: number | null;
  /** Ratio against each PyTorch configuration (median over rounds). */
  ratioChannelsLast?: number | null;
  ratioNchw?: number | null;
  /** Conv + dense multiply-add FLOPs of one step, forward + backward (pipeline/bench/step-flops.ts), GFLOP. */
  stepGflop?: number;
  /** stepGflop / tfjs median step time. */
  tfjsGflops?: number;
  /** tfjsGflops / the wasm SIMD peak of the same thread count (machine.simdPeak). */
  fractionOfSimdPeak?: number | null;
  /** Per-round steadiness problems (rounds differing by more than 15%). */
  warnings?: string[];
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
    /** Family/model and widest native SIMD (Linux); absent in reports written before 2026-12-02. */
    cpuFeatures?: CpuFeatures | null;
    platform: string;
    node: string;
    tfjs: string;
    torch: string | null;
    torchThreads: number;
    python: string;
    loadavgBefore: number[];
    loadavgAfter: number[];
    /** f32x4 mul+add peak of this CPU in wasm (pipeline/bench/simd-peak.ts). */
    simdPeak?: SimdPeakSummary;
    /** Free text, e.g. "machine shared": conditions the numbers were measured under. */
    note?: string;
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

export interface SimdPeakSummary {
  threads: number;
  /** GFLOP/s of f32x4.mul + f32x4.add (2 flops per lane) on one thread, and on `threads` threads at once. */
  gflopsOneThread: number;
  gflopsAllThreads: number;
  /** The same with f32x4.relaxed_madd, when this Node's V8 has relaxed SIMD; otherwise why not. */
  relaxedMaddGflopsOneThread: number | null;
  relaxedNote: string;
}

/** The trainer's loss hyper-parameters, as recorded in the report and passed to the PyTorch peer. */
export interface LossHP {
  temperature: number;
  laTau: number;
  lambdaBc: number;
  lambdaCc: number;
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

/**
 * The ratio against the faster PyTorch configuration (by pooled median img/s; channels_last on a tie), with
 * the ratios against each one. An unavailable configuration is never the faster one.
 */
export function ratiosAgainstFaster(
  tfjs: SideResult,
  channelsLast: SideResult,
  nchw: SideResult | undefined,
): { ratio: number | null; roundRatios: number[]; ratioOfMedians: number | null; torchBest?: 'channels_last' | 'nchw'; ratioChannelsLast: number | null; ratioNchw: number | null } {
  const cl = ratios(tfjs, channelsLast);
  const nc = nchw ? ratios(tfjs, nchw) : ratios(tfjs, { available: false, reason: 'not run' });
  const clSpeed = channelsLast.available ? channelsLast.imgPerSec : -1;
  const ncSpeed = nchw?.available ? nchw.imgPerSec : -1;
  const extra = { ratioChannelsLast: cl.ratio, ratioNchw: nc.ratio };
  if (clSpeed < 0 && ncSpeed < 0) return { ...cl, ...extra };
  return ncSpeed > clSpeed ? { ...nc, torchBest: 'nchw', ...extra } : { ...cl, torchBest: 'channels_last', ...extra };
}

/** max/min - 1 of a side's per-round img/s (0 for fewer than 2 rounds). */
export function roundSpread(roundImgPerSec: readonly number[]): number {
  if (roundImgPerSec.length < 2) return 0;
  return Math.max(...roundImgPerSec) / Math.min(...roundImgPerSec) - 1;
}

/** One warning per side whose rounds differ by more than UNSTEADY_SPREAD. */
export function steadinessWarnings(sides: Record<string, SideResult | undefined>): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(sides)) {
    if (!s?.available) continue;
    const spread = roundSpread(s.roundImgPerSec);
    if (spread > UNSTEADY_SPREAD)
      out.push(`${name}: rounds differ by ${(100 * spread).toFixed(0)}% (> ${100 * UNSTEADY_SPREAD}%): ${s.roundImgPerSec.map((x) => x.toFixed(0)).join(' ')} img/s`);
  }
  return out;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

const sideCell = (s: SideResult | undefined, where: string) => (!s ? '–' : s.available ? `${fmt(s.imgPerSec)} (${where})` : `unavailable (${s.reason})`);

export function formatTable(rows: readonly BenchRow[]): string {
  const head = ['model', 'batch', 'loss', 'backend', 'tfjs img/s', 'PyTorch channels_last img/s', 'PyTorch NCHW img/s', 'ratio vs faster', 'useful GFLOP/s', 'of wasm SIMD peak'];
  const left = new Set(['model', 'loss', 'backend']);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h) => (left.has(h) ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const tf = r.tfjs.available ? fmt(r.tfjs.imgPerSec) : `unavailable (${r.tfjs.reason})`;
    const where = r.torchDevice && r.torchDevice !== 'cpu' ? r.torchDevice.split(' ')[0]! : `${r.torchThreads} thr`;
    const ratio = r.ratio === null ? '–' : `${r.ratio.toFixed(2)}× (${r.torchBest === 'nchw' ? 'NCHW' : 'channels_last'})`;
    const gf = r.tfjsGflops === undefined ? '–' : fmt(r.tfjsGflops);
    const peak = r.fractionOfSimdPeak == null ? '–' : `${(100 * r.fractionOfSimdPeak).toFixed(0)}%`;
    lines.push(`| ${r.model} | ${r.batch} | ${r.loss} | ${r.backend} | ${tf} | ${sideCell(r.torch, where)} | ${sideCell(r.torchNchw, where)} | ${ratio} | ${gf} | ${peak} |`);
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
