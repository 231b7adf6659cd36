// `ecl study`: trains the runs of a plan (pipeline/train/study-plans.ts) or an ad-hoc methods x seeds set, each a
// normal `ecl train` in its own process (independent runs, several at a time), and writes one summary JSON per
// finished run under the results folder (study-results.ts). Resumable: a run whose summary exists is skipped; a
// run folder that finished but has no summary yet (interrupted in between) is summarised without training again.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDrift, finalIf10Plan, finalPlan, plateauPlan, runId, searchPlan, trainArgsOf, type PlanName, type PlanOverrides, type StudyRun } from './study-plans.js';
import { finishedMetrics, gitCommit, loadSummaries, summariseRun, summaryPath, writeSummary } from './study-results.js';
import { RUN_FILES } from '../../models/artifacts/run-dir.js';

export const STUDY_METHODS = ['ce', 'la-ce', 'bcl', 'ecl', 'ecl-no-cc', 'ecl-no-bal'];

export interface StudyOptions {
  runs: StudyRun[];
  /** Recorded in each summary: the plan name, or 'adhoc'. */
  plan: string;
  parallel: number;
  /** Folder of the run folders (not committed). */
  runsDir: string;
  /** Root of the committed summaries: results/<dataset>-if<IF>/<run-id>.json. */
  resultsDir: string;
  backend: string;
  /** Train at most this many runs in this call (the rest on the next). */
  maxRuns?: number;
}

/** Trains one run; the default spawns `ecl train`. Tests and callers may pass their own. */
export type TrainOne = (args: string[], log: (l: string) => void) => Promise<void>;

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

export const spawnTrain: TrainOne = (args, log) =>
  new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { maxBuffer: 64 << 20, env: { ...process.env, CI: '1' } }, (err, _out, stderr) => {
      if (err) reject(new Error(`ecl ${args.join(' ')} failed: ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      else resolve();
    });
    log(`started: ecl ${args.join(' ')}`);
  });

/**
 * The full `ecl train` command line of a study run. A run folder with a checkpoint (interrupted: the machine or
 * the session ended) continues from it (--resume, which refuses other settings); anything else starts afresh.
 */
export function studyTrainArgs(o: Pick<StudyOptions, 'runsDir' | 'backend'>, r: StudyRun, resume = false): string[] {
  return ['train', ...trainArgsOf(r), '--backend', o.backend, '--runs-dir', o.runsDir, '--name', runId(r), resume ? '--resume' : '--overwrite'];
}

export interface StudyOutcome {
  /** Run ids summarised in this call (trained, or recovered from a finished run folder). */
  done: string[];
  /** Runs that already had a summary. */
  skipped: number;
  /** Runs left for a later call (maxRuns). */
  left: number;
  failed: { runId: string; error: string }[];
}

export async function runStudy(o: StudyOptions, log: (l: string) => void = console.log, trainOne: TrainOne = spawnTrain): Promise<StudyOutcome> {
  const ids = new Set<string>();
  const runs = o.runs.filter((r) => !ids.has(runId(r)) && ids.add(runId(r)));
  const todo = runs.filter((r) => !existsSync(summaryPath(o.resultsDir, r)));
  const now = o.maxRuns === undefined ? todo : todo.slice(0, o.maxRuns);
  log(`study ${o.plan}: ${runs.length} runs, ${runs.length - todo.length} done, ${now.length} runs to go now${now.length < todo.length ? ` (${todo.length - now.length} left for later)` : ''}, ${o.parallel} at a time`);
  // A summary counts as done; say so when it was trained with other settings than the plan gives now.
  for (const r of runs) {
    const p = summaryPath(o.resultsDir, r);
    if (!existsSync(p)) continue;
    let drift: string[] = [];
    try {
      drift = r.extraArgs.length ? [] : configDrift((JSON.parse(readFileSync(p, 'utf8')) as { config?: Record<string, unknown> }).config ?? {}, r);
    } catch {
      drift = ['(unreadable summary)'];
    }
    if (drift.length) log(`warning: ${runId(r)} was trained with ${drift.join(', ')}; delete ${p} to train it again`);
  }
  const commit = gitCommit();
  const out: StudyOutcome = { done: [], skipped: runs.length - todo.length, left: todo.length - now.length, failed: [] };
  const queue = [...now];
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const id = runId(r);
      const dir = join(o.runsDir, id);
      try {
        if (!finishedMetrics(dir, r.epochs)) {
          const t0 = Date.now();
          const resume = existsSync(join(dir, RUN_FILES.checkpoint));
          if (resume) log(`${id}: continuing the interrupted run from its checkpoint`);
          await trainOne(studyTrainArgs(o, r, resume), log);
          log(`finished ${id} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        } else log(`${id}: the run folder has finished; summarising it`);
        const p = writeSummary(o.resultsDir, summariseRun(r, dir, o.plan, commit), r);
        log(`wrote ${p}`);
        out.done.push(id);
      } catch (e) {
        // One failed run does not stop the others; the study reports it and a later call retries it.
        out.failed.push({ runId: id, error: (e as Error).message });
        log(`FAILED ${id}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel, now.length || 1)) }, worker));
  return out;
}

/** The runs of a named plan; final / final-if10 / plateau need the finished search (its selection). */
export async function planRuns(name: PlanName, resultsDir: string, ov: PlanOverrides = {}): Promise<StudyRun[]> {
  if (name === 'search-bcl') return searchPlan('bcl', ov);
  if (name === 'search-ecl') return searchPlan('ecl', ov);
  const { selectionFrom } = await import('../report/study-report.js');
  const { selection, progress } = selectionFrom(loadSummaries(resultsDir).byId, ov);
  if (!selection)
    throw new Error(
      `plan ${name} uses the configurations the search selects, and the search is not complete: search-bcl ${progress.bcl.done} of ${progress.bcl.total}, ` +
        `search-ecl ${progress.ecl.done} of ${progress.ecl.total} runs have results in ${resultsDir} (run: ecl study --plan search-bcl, then --plan search-ecl)`,
    );
  return name === 'final' ? finalPlan(selection, ov) : name === 'final-if10' ? finalIf10Plan(selection, ov) : plateauPlan(selection, ov);
}
