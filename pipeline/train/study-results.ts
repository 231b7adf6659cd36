// One small JSON per finished study run (results/<dataset>-if<IF>/<run-id>.json, committed): what the report
// tables are built from, and what makes `ecl study` resumable across interruptions and machines (a run whose
// file exists is not trained again). Built from the run folder that `ecl train` wrote.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';
import { resultsFolder, runId, type StudyRun } from './study-plans.js';
import type { EpochMetrics } from './trainer.js';

export const SUMMARY_SCHEMA = 1;

/** The run's definition (StudyRun) and what it gave. */
export interface RunSummary extends StudyRun {
  schema: typeof SUMMARY_SCHEMA;
  runId: string;
  /** The plan that asked for it ('adhoc' for `ecl study --methods ...`). */
  plan: string;
  /** The run's resolved config.json (every setting, defaults included). */
  config: Record<string, unknown>;
  /** Final epoch on the validation half and on the test half. */
  val: { top1: number; balancedAccuracy: number } | null;
  test: EpochMetrics['test'];
  /** Validation balanced accuracy and top-1 per epoch. */
  valCurve: { epoch: number; top1: number; balancedAccuracy: number }[];
  /** Geometry of the final epoch (the trainer's keys), null when the run computed none. */
  geometry: Record<string, number> | null;
  wallSeconds: number | null;
  backend: string;
  gitCommit: string | null;
  finishedAt: string;
}

export function summaryPath(resultsDir: string, r: StudyRun): string {
  return join(resultsDir, resultsFolder(r.dataset, r.imbalance), `${runId(r)}.json`);
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The commit the code ran from (null outside a git checkout); '+dirty' when tracked files were changed. */
export function gitCommit(cwd = process.cwd()): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

/** The last epoch of a run folder's metrics.jsonl when the run reached `epochs`, else null (unfinished or absent). */
export function finishedMetrics(runDir: string, epochs: number): EpochMetrics[] | null {
  const p = join(runDir, RUN_FILES.metrics);
  if (!existsSync(p)) return null;
  const lines = readFileSync(p, 'utf8').split('\n').filter((l) => l.trim());
  const ms = lines.map((l) => JSON.parse(l) as EpochMetrics);
  return ms.at(-1)?.epoch === epochs ? ms : null;
}

/** The summary of a finished run folder; throws when the folder holds no finished run of `r`. */
export function summariseRun(r: StudyRun, runDir: string, plan: string, commit: string | null): RunSummary {
  const ms = finishedMetrics(runDir, r.epochs);
  if (!ms) throw new Error(`${runDir}: no finished run of ${r.epochs} epochs (metrics.jsonl)`);
  const last = ms.at(-1)!;
  // The runs folder is this machine's business, not the run's definition.
  const { runsDir: _machineLocal, ...config } = readJson(join(runDir, RUN_FILES.config)) as Record<string, unknown>;
  const sp = join(runDir, RUN_FILES.trainSummary);
  const train = existsSync(sp) ? (readJson(sp) as { wallSeconds?: number }) : {};
  return {
    schema: SUMMARY_SCHEMA,
    runId: runId(r),
    plan,
    ...r,
    config,
    val: last.val,
    test: last.test,
    valCurve: ms.flatMap((m) => (m.val ? [{ epoch: m.epoch, top1: m.val.top1, balancedAccuracy: m.val.balancedAccuracy }] : [])),
    geometry: last.geometry ?? null,
    wallSeconds: typeof train.wallSeconds === 'number' ? train.wallSeconds : null,
    backend: last.backend,
    gitCommit: commit,
    finishedAt: new Date().toISOString(),
  };
}

export function writeSummary(resultsDir: string, s: RunSummary, r: StudyRun): string {
  const p = summaryPath(resultsDir, r);
  mkdirSync(dirname(p), { recursive: true });
  writeFileAtomic(p, JSON.stringify(s, null, 2) + '\n');
  return p;
}

function isSummary(v: unknown): v is RunSummary {
  const o = v as Partial<RunSummary> | null;
  return !!o && typeof o === 'object' && o.schema === SUMMARY_SCHEMA && typeof o.runId === 'string' && typeof o.method === 'string' && !!o.test && typeof o.test.balancedAccuracy === 'number';
}

/** Every summary under the results root, by run id; a file that is not one is named in `bad` (and skipped). */
export function loadSummaries(resultsDir: string): { byId: Map<string, RunSummary>; bad: string[] } {
  const byId = new Map<string, RunSummary>();
  const bad: string[] = [];
  if (!existsSync(resultsDir)) return { byId, bad };
  for (const sub of readdirSync(resultsDir, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of readdirSync(join(resultsDir, sub.name))) {
      if (!f.endsWith('.json')) continue;
      const p = join(resultsDir, sub.name, f);
      try {
        const v = readJson(p);
        if (isSummary(v) && `${v.runId}.json` === f) byId.set(v.runId, v);
        else bad.push(`${p}: not a study run summary (schema ${SUMMARY_SCHEMA}, named <runId>.json)`);
      } catch (e) {
        bad.push(`${p}: ${(e as Error).message}`);
      }
    }
  }
  return { byId, bad };
}
