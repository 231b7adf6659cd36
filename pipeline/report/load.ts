// Reads what a run folder holds for the report, tolerating damage: a missing file is a section "not run yet";
// a file that cannot be read (bad JSON, a truncated metrics.jsonl line, a damaged checkpoint) is skipped and
// named in `skipped`, and the rest still renders. Only a folder that is no run at all is an error (UsageError).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { METADATA_KEYS, parseOnnxMetadataProps } from '../../models/onnx-contract.js';
import { openRun, RUN_FILES, runPaths } from '../../models/artifacts/run-dir.js';
import type { ParityReport } from '../parity/parity-types.js';
import type { EpochMetrics } from '../train/trainer.js';
import { UsageError } from '../cli/errors.js';

/** Bigger files are skipped (a report must not read a multi-GB file into memory). */
const MAX_JSON_BYTES = 64 << 20;
/** A run with more epochs than this keeps the first ones (bounded work for the charts). */
const MAX_EPOCHS = 5000;

export interface EvalJson {
  epoch?: number;
  classNames: string[];
  classCounts: number[];
  count: number;
  top1: number;
  balancedAccuracy: number;
  perClassAccuracy: (number | null)[];
  many: { accuracy: number | null; classes: number[] };
  medium: { accuracy: number | null; classes: number[] };
  few: { accuracy: number | null; classes: number[] };
  confusion: number[][];
}

export interface TrainSummary {
  backend?: string;
  wallSeconds?: number;
  imgPerSec?: number;
}

export interface RunData {
  dir: string;
  name: string;
  config: Record<string, unknown> | null;
  runInfo: Record<string, unknown> | null;
  summary: TrainSummary | null;
  metrics: EpochMetrics[];
  checkpoint: { sha256: string; epoch: number; classNames: string[]; classCounts: number[]; model: string | null; gitCommit: string | null } | null;
  eval: EvalJson | null;
  parity: ParityReport | null;
  /** One line per thing that exists but could not be used. */
  skipped: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNum);

/** The file's text, or null when it is absent; too big or unreadable -> skipped. */
function readText(path: string, what: string, skipped: string[]): string | null {
  if (!existsSync(path)) return null;
  try {
    const size = statSync(path).size;
    if (size > MAX_JSON_BYTES) {
      skipped.push(`${what}: ${size} bytes is over the ${MAX_JSON_BYTES >> 20} MiB limit`);
      return null;
    }
    return readFileSync(path, 'utf8');
  } catch (e) {
    skipped.push(`${what}: ${(e as Error).message}`);
    return null;
  }
}

/** Parsed JSON checked by `valid` (which names the problem or returns null); anything wrong -> skipped. */
function readJson<T>(path: string, what: string, skipped: string[], valid: (v: unknown) => string | null): T | null {
  const text = readText(path, what, skipped);
  if (text === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    skipped.push(`${what}: not valid JSON (${(e as Error).message})`);
    return null;
  }
  const problem = valid(v);
  if (problem) {
    skipped.push(`${what}: ${problem}`);
    return null;
  }
  return v as T;
}

function validEpoch(v: unknown): string | null {
  if (!isObj(v)) return 'not an object';
  if (!isNum(v.epoch)) return 'no epoch number';
  if (!isNum(v.trainLoss) || !isNum(v.lr)) return 'no trainLoss/lr';
  if (!isObj(v.test) || !isNum(v.test.top1) || !Array.isArray(v.test.perClass)) return 'no test accuracy';
  return null;
}

/** metrics.jsonl line by line: a bad line (e.g. the last one cut by a crash) is skipped and named. */
export function readMetrics(path: string, skipped: string[]): EpochMetrics[] {
  const text = readText(path, RUN_FILES.metrics, skipped);
  if (text === null) return [];
  const out: EpochMetrics[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    if (out.length >= MAX_EPOCHS) {
      skipped.push(`${RUN_FILES.metrics}: only the first ${MAX_EPOCHS} epochs are shown`);
      break;
    }
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      skipped.push(`${RUN_FILES.metrics} line ${i + 1}: not valid JSON (truncated?)`);
      continue;
    }
    const problem = validEpoch(v);
    if (problem) skipped.push(`${RUN_FILES.metrics} line ${i + 1}: ${problem}`);
    else out.push(v as EpochMetrics);
  }
  return out;
}

function validEval(v: unknown): string | null {
  if (!isObj(v)) return 'not an object';
  if (!numArray(v.classCounts) || !Array.isArray(v.classNames)) return 'no class names/counts';
  const C = v.classCounts.length;
  if (!Array.isArray(v.perClassAccuracy) || v.perClassAccuracy.length !== C) return 'perClassAccuracy does not match the classes';
  if (!Array.isArray(v.confusion) || v.confusion.length !== C || !v.confusion.every((r) => numArray(r) && r.length === C)) return `confusion is not a ${C}x${C} matrix of numbers`;
  if (!isNum(v.top1)) return 'no top1';
  return null;
}

function validParity(v: unknown): string | null {
  if (!isObj(v)) return 'not an object';
  if (!Array.isArray(v.results) || !v.results.every((r) => isObj(r) && typeof r.runtime === 'string' && typeof r.status === 'string')) return 'no results per runtime';
  if (!isObj(v.tolerances)) return 'no tolerances';
  return null;
}

/** The git commit the exported model records (the run card's commit); null when unknown. */
function modelGitCommit(path: string, skipped: string[]): string | null {
  try {
    if (statSync(path).size > 1 << 30) return null;
    const c = parseOnnxMetadataProps(readFileSync(path))[METADATA_KEYS.gitCommit];
    return c && c !== 'unknown' ? c : null;
  } catch (e) {
    skipped.push(`${RUN_FILES.model}: metadata not readable (${(e as Error).message})`);
    return null;
  }
}

/** The run's files; a folder with none of a run's own files (or not a folder) is a UsageError. */
export function loadRun(dir: string): RunData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`not a run folder: ${dir} does not exist or is not a folder`);
  const p = runPaths(dir);
  const own = [p.checkpoint, p.config, p.metrics, p.runInfo];
  if (!own.some((f) => existsSync(f)))
    throw new UsageError(`not a run folder: ${dir} has none of ${[RUN_FILES.checkpoint, RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.runInfo].join(', ')} (train one: ecl train ... --name <name>)`);
  const skipped: string[] = [];
  let checkpoint: RunData['checkpoint'] = null;
  let ckConfig: Record<string, unknown> | null = null;
  if (existsSync(p.checkpoint)) {
    try {
      const run = openRun(dir);
      const m = run.checkpoint.meta;
      ckConfig = isObj(m.config) ? m.config : null;
      const spec = m.spec as unknown as Record<string, unknown> | undefined;
      checkpoint = {
        sha256: run.checkpointSha256,
        epoch: m.epoch,
        classNames: m.classNames,
        classCounts: m.classCounts,
        model: typeof spec?.family === 'string' ? spec.family : typeof ckConfig?.model === 'string' ? ckConfig.model : null,
        gitCommit: null,
      };
    } catch (e) {
      skipped.push(`${RUN_FILES.checkpoint}: ${(e as Error).message}`);
    }
  }
  if (checkpoint && existsSync(p.model)) checkpoint.gitCommit = modelGitCommit(p.model, skipped);
  const config = readJson<Record<string, unknown>>(p.config, RUN_FILES.config, skipped, (v) => (isObj(v) ? null : 'not an object')) ?? ckConfig;
  const runInfo = readJson<Record<string, unknown>>(p.runInfo, RUN_FILES.runInfo, skipped, (v) => (isObj(v) ? null : 'not an object'));
  const summary = readJson<TrainSummary>(p.trainSummary, RUN_FILES.trainSummary, skipped, (v) => (isObj(v) ? null : 'not an object'));
  const metrics = readMetrics(p.metrics, skipped);
  const ev = readJson<EvalJson>(p.eval, RUN_FILES.eval, skipped, validEval);
  const parity = readJson<ParityReport>(p.parityJson, RUN_FILES.parityJson, skipped, validParity);
  return { dir, name: basename(resolve(dir)), config, runInfo, summary, metrics, checkpoint, eval: ev, parity, skipped };
}

/** Class names and training counts: the checkpoint's, else eval.json's, else parity's counts. */
export function classesOf(r: RunData): { names: string[]; counts: number[] } | null {
  if (r.checkpoint && r.checkpoint.classCounts.length) return { names: r.checkpoint.classNames, counts: r.checkpoint.classCounts };
  if (r.eval) return { names: r.eval.classNames.map(String), counts: r.eval.classCounts };
  const c = r.parity?.classCounts?.counts;
  if (c && numArray(c)) return { names: c.map((_, i) => `class ${i}`), counts: c };
  return null;
}

/** many > 100 training images, few < 20, medium between (the long-tail convention of eval and parity). */
export const GROUP_THRESHOLDS = { many: 100, few: 20 } as const;
export function groupOf(count: number): 'many' | 'medium' | 'few' {
  return count > GROUP_THRESHOLDS.many ? 'many' : count < GROUP_THRESHOLDS.few ? 'few' : 'medium';
}
