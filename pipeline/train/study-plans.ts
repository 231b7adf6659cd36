// The study's runs as data: one StudyRun per (method, hyper-parameters, seed), the run id derived from them (so
// a re-run finds what exists), and the named plans of the protocol in docs/results.md (fixed before running):
//   search-bcl   BCL: τ × λ_BC × τ_LA, the full grid (36 configs), seed 1, SEARCH_EPOCHS, validation only
//   search-ecl   ECL: 36 configs (as many as BCL) drawn with a fixed seed from τ × λ_BC × λ_CC × CC-GE form ×
//                BC form × τ_LA (576), seed 1, SEARCH_EPOCHS
//   final        IF 100, FINAL_EPOCHS: BCL and ECL at their selected configs, 10 paired seeds; CE, LA-CE and the
//                two ablations (ECL's selected config with one term changed) 5 seeds
//   final-if10   BCL and ECL at IF 10 with the configs selected at IF 100, 10 seeds
//   plateau      ECL, selected config, seed 1, 2 × FINAL_EPOCHS: does the final budget reach the plateau?
import { createHash } from 'node:crypto';
import { deriveRng } from '../../models/rng.js';
import { DEFAULTS, resolveConfig } from './config.js';

export interface StudyHp {
  temperature?: number;
  laTau?: number;
  lambdaBc?: number;
  lambdaCc?: number;
  bcForm?: 'mass' | 'mean-vector';
  ccForm?: 'gram' | 'direct';
}

export interface StudyRun {
  method: string;
  dataset: string;
  imbalance: number;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Only the hyper-parameters the method uses, defaults filled in (see methodHp). */
  hp: StudyHp;
  /** Further `ecl train` options (part of the run id). */
  extraArgs: string[];
}

export const SEARCH_EPOCHS = 30;
export const FINAL_EPOCHS = 60;
export const SEARCH_SEED = 1;
export const PAIRED_SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);
export const BASELINE_SEEDS = PAIRED_SEEDS.slice(0, 5);
/** Seed of the draw of ECL's search configurations (not a training seed). */
export const ECL_DRAW_SEED = 2016;

export const GRID = {
  temperature: [0.05, 0.07, 0.1, 0.2],
  lambdaBc: [0.35, 0.6, 1],
  laTau: [0.5, 1, 1.5],
  lambdaCc: [0.1, 0.5, 1, 5],
  ccForm: ['gram', 'direct'] as const,
  bcForm: ['mass', 'mean-vector'] as const,
};

export const PLAN_NAMES = ['search-bcl', 'search-ecl', 'final', 'final-if10', 'plateau'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];
export const SEARCH_PLANS: Record<'bcl' | 'ecl', PlanName> = { bcl: 'search-bcl', ecl: 'search-ecl' };

/** Which hyper-parameters each method reads (the others would not change the run, so they are not part of its id). */
const USES: Record<string, (keyof StudyHp)[]> = {
  ce: [],
  'la-ce': ['laTau'],
  bcl: ['temperature', 'laTau', 'lambdaBc'],
  ecl: ['temperature', 'laTau', 'lambdaBc', 'lambdaCc', 'bcForm', 'ccForm'],
  'ecl-no-cc': ['temperature', 'laTau', 'lambdaBc', 'bcForm'],
  'ecl-no-bal': ['temperature', 'laTau', 'lambdaBc', 'lambdaCc', 'ccForm'],
};
const HP_DEFAULTS: Required<StudyHp> = {
  temperature: DEFAULTS.temperature,
  laTau: DEFAULTS.laTau,
  lambdaBc: DEFAULTS.lambdaBc,
  lambdaCc: DEFAULTS.lambdaCc,
  bcForm: 'mass',
  ccForm: 'gram',
};

/** The hyper-parameters `method` uses, from `hp` or the defaults, in a fixed key order. */
export function methodHp(method: string, hp: StudyHp): StudyHp {
  const uses = USES[method];
  if (!uses) throw new Error(`study: unknown method '${method}' (expected one of: ${Object.keys(USES).join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(HP_DEFAULTS) as (keyof StudyHp)[]) if (uses.includes(k)) out[k] = hp[k] ?? HP_DEFAULTS[k];
  return out as StudyHp;
}

export function makeRun(r: Omit<StudyRun, 'hp' | 'extraArgs'> & { hp?: StudyHp; extraArgs?: string[] }): StudyRun {
  return { ...r, hp: methodHp(r.method, r.hp ?? {}), extraArgs: r.extraArgs ?? [] };
}

const HP_FLAG: Record<keyof StudyHp, [string, string]> = {
  temperature: ['--temperature', 't'],
  laTau: ['--la-tau', 'la'],
  lambdaBc: ['--lambda-bc', 'bc'],
  lambdaCc: ['--lambda-cc', 'cc'],
  bcForm: ['--bc-form', ''],
  ccForm: ['--cc-form', ''],
};

/**
 * Readable and unique: method, hyper-parameters, epochs, seed, then 8 hex digits of a hash of everything that
 * defines the run (dataset, imbalance, batch, extra options too). The backend is not part of it: results carry
 * over between machines.
 */
export function runId(r: StudyRun): string {
  const hp = Object.entries(r.hp).map(([k, v]) => `${HP_FLAG[k as keyof StudyHp][1]}${String(v)}`);
  const key = JSON.stringify([r.method, r.dataset, r.imbalance, r.epochs, r.batchSize, r.seed, r.hp, r.extraArgs]);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return [r.method, ...hp, `e${r.epochs}`, `s${r.seed}`, hash].join('-');
}

/** The configuration without the seed: runs that differ only in seed share it. */
export function configKey(r: StudyRun): string {
  return runId({ ...r, seed: 0 }).replace(/-s0-[0-9a-f]{8}$/, '');
}

/** The config `ecl train` resolves for the run with this commit's defaults (without its extra options). */
export function expectedConfig(r: StudyRun): Record<string, unknown> {
  return { ...resolveConfig({ dataset: r.dataset, imbalance: r.imbalance, loss: r.method, epochs: r.epochs, batchSize: r.batchSize, seed: r.seed, ...r.hp }) };
}

/**
 * Settings where a finished run's recorded config differs from what the plan would train now (changed defaults
 * since it ran); the run id does not see defaults, so the runner warns instead of silently mixing them.
 */
export function configDrift(recorded: Record<string, unknown>, r: StudyRun): string[] {
  const now = expectedConfig(r);
  const skip = new Set(['name', 'runsDir', 'backend']);
  return Object.keys(now)
    .filter((k) => !skip.has(k) && k in recorded && JSON.stringify(recorded[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k} ${JSON.stringify(recorded[k])} (now ${JSON.stringify(now[k])})`);
}

/** `ecl train` options of the run (the run folder and backend are added by the runner). */
export function trainArgsOf(r: StudyRun): string[] {
  const hp = Object.entries(r.hp).flatMap(([k, v]) => [HP_FLAG[k as keyof StudyHp][0], String(v)]);
  return [
    '--dataset', r.dataset,
    '--imbalance', String(r.imbalance),
    '--loss', r.method,
    '--epochs', String(r.epochs),
    '--batch-size', String(r.batchSize),
    '--seed', String(r.seed),
    ...hp,
    ...r.extraArgs,
  ];
}

/** Folder of a dataset/IF's result files under the results root: results/fmnist-lt-if100. */
export function resultsFolder(dataset: string, imbalance: number): string {
  return `${dataset}-if${imbalance}`;
}

/** What a plan may be changed in (smoke runs; every change gives other run ids). */
export interface PlanOverrides {
  dataset?: string;
  imbalance?: number;
  epochs?: number;
  batchSize?: number;
  extraArgs?: string[];
}

const base = (o: PlanOverrides, imbalance: number, epochs: number) => ({
  dataset: o.dataset ?? 'fmnist-lt',
  imbalance: o.imbalance ?? imbalance,
  epochs: o.epochs ?? epochs,
  batchSize: o.batchSize ?? DEFAULTS.batchSize,
  extraArgs: o.extraArgs ?? [],
});

const product = <T extends Record<string, readonly unknown[]>>(axes: T): { [K in keyof T]: T[K][number] }[] =>
  Object.entries(axes).reduce<Record<string, unknown>[]>((acc, [k, vs]) => acc.flatMap((a) => vs.map((v) => ({ ...a, [k]: v }))), [{}]) as {
    [K in keyof T]: T[K][number];
  }[];

export function searchGrid(method: 'bcl' | 'ecl'): StudyHp[] {
  const { temperature, lambdaBc, laTau, lambdaCc, ccForm, bcForm } = GRID;
  if (method === 'bcl') return product({ temperature, lambdaBc, laTau });
  const all = product({ temperature, lambdaBc, lambdaCc, ccForm, bcForm, laTau });
  // As many configurations as BCL's full grid, drawn without replacement, kept in grid order.
  const n = searchGrid('bcl').length;
  const order = deriveRng(ECL_DRAW_SEED, 'ecl-search-draw').shuffle(all.map((_, i) => i)) as number[];
  return order
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => all[i]!);
}

export function searchPlan(method: 'bcl' | 'ecl', o: PlanOverrides = {}): StudyRun[] {
  return searchGrid(method).map((hp) => makeRun({ ...base(o, 100, SEARCH_EPOCHS), method, seed: SEARCH_SEED, hp }));
}

/** The selected configuration of each searched method (from its search results); see selectBest. */
export type Selection = Record<'bcl' | 'ecl', StudyHp>;

export function finalPlan(sel: Selection, o: PlanOverrides = {}): StudyRun[] {
  const b = base(o, 100, FINAL_EPOCHS);
  const runs: StudyRun[] = [];
  for (const seed of PAIRED_SEEDS) {
    runs.push(makeRun({ ...b, method: 'bcl', seed, hp: sel.bcl }));
    runs.push(makeRun({ ...b, method: 'ecl', seed, hp: sel.ecl }));
  }
  for (const seed of BASELINE_SEEDS) {
    runs.push(makeRun({ ...b, method: 'ce', seed }));
    runs.push(makeRun({ ...b, method: 'la-ce', seed }));
    // The 2x2 of balancing x CC-GE: ECL's selected config with the ECL masses swapped for BCL's, or CC-GE dropped.
    runs.push(makeRun({ ...b, method: 'ecl-no-cc', seed, hp: sel.ecl }));
    runs.push(makeRun({ ...b, method: 'ecl-no-bal', seed, hp: sel.ecl }));
  }
  return runs;
}

export function finalIf10Plan(sel: Selection, o: PlanOverrides = {}): StudyRun[] {
  const b = base(o, 10, FINAL_EPOCHS);
  return PAIRED_SEEDS.flatMap((seed) => [makeRun({ ...b, method: 'bcl', seed, hp: sel.bcl }), makeRun({ ...b, method: 'ecl', seed, hp: sel.ecl })]);
}

export function plateauPlan(sel: Selection, o: PlanOverrides = {}): StudyRun[] {
  const b = base(o, 100, FINAL_EPOCHS);
  return [makeRun({ ...b, epochs: 2 * b.epochs, method: 'ecl', seed: SEARCH_SEED, hp: sel.ecl })];
}

/** A finished search run's score: final-epoch validation balanced accuracy. */
export interface Scored {
  run: StudyRun;
  val: number;
}

/**
 * The best configuration of a method's search: the highest final-epoch validation balanced accuracy (ties: the
 * first in grid order). Null until every run of the search has a result: a selection from part of the grid would
 * change as the rest arrives.
 */
export function selectBest(plan: StudyRun[], scoreOf: (r: StudyRun) => number | null): { best: Scored | null; done: number } {
  let best: Scored | null = null;
  let done = 0;
  for (const run of plan) {
    const val = scoreOf(run);
    if (val === null) continue;
    done++;
    if (!best || val > best.val) best = { run, val };
  }
  return { best: done === plan.length ? best : null, done };
}
