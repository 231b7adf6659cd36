// `ecl eval runs/<name>`: evaluate a run's checkpoint on its dataset's balanced test set.
import type { ClassificationReport } from '../../models/metrics/classification.js';
import { type BackendChoice, describeBackend, selectBackend } from '../backend/select.js';
import { openRun } from '../../models/artifacts/run-dir.js';
import { loadRunData, runCacheDir } from '../data/run-data.js';
import { reportFromLogits, runInference } from './evaluate.js';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { ModelState } from './model-state.js';

export interface EvalResult {
  runDir: string;
  backend: BackendChoice;
  epoch: number;
  report: ClassificationReport;
  classNames: string[];
  classCounts: number[];
  /** Where eval.json was written. */
  evalPath: string;
}

export async function evaluateRun(runDir: string, opts: { backend?: string; dataRoot?: string; limit?: number } = {}): Promise<EvalResult> {
  const run = openRun(runDir);
  const ck = run.checkpoint;
  const cfg = run.config();
  const backend = await selectBackend(opts.backend ?? cfg.backend);
  const data = await loadRunData(run.dataset(), { root: opts.dataRoot, cacheDir: runCacheDir(runDir) });
  const state = new ModelState(ck.params);
  try {
    const res = await runInference(ck.meta.spec, state.params(), data.test, { limit: opts.limit });
    const report = reportFromLogits(res, data.test.labels, ck.meta.spec.numClasses, ck.meta.classCounts);
    const result: EvalResult = { runDir, backend, epoch: ck.meta.epoch, report, classNames: ck.meta.classNames, classCounts: ck.meta.classCounts, evalPath: run.paths.eval };
    writeFileAtomic(
      run.paths.eval,
      JSON.stringify({ epoch: ck.meta.epoch, backend: backend.name, dataset: cfg.dataset, classNames: ck.meta.classNames, classCounts: ck.meta.classCounts, ...report }, null, 2) + '\n',
    );
    return result;
  } finally {
    state.dispose();
  }
}

export function formatEval(r: EvalResult): string {
  const pct = (v: number | null) => (v === null ? '   -  ' : `${(100 * v).toFixed(2).padStart(6)}`);
  const rep = r.report;
  const lines = [
    describeBackend(r.backend),
    `run ${r.runDir} (epoch ${r.epoch}), ${rep.count} test images`,
    `top-1 ${pct(rep.top1)}%   balanced accuracy ${pct(rep.balancedAccuracy)}%`,
    `many-shot (>100 train imgs, ${rep.many.classes.length} classes) ${pct(rep.many.accuracy)}%   ` +
      `medium (20-100, ${rep.medium.classes.length}) ${pct(rep.medium.accuracy)}%   few (<20, ${rep.few.classes.length}) ${pct(rep.few.accuracy)}%`,
    '',
    'class                 train   acc%',
    ...r.classNames.map((nm, c) => `${nm.slice(0, 20).padEnd(20)} ${String(r.classCounts[c]).padStart(6)} ${pct(rep.perClassAccuracy[c] ?? null)}`),
    '',
    'confusion matrix (rows: true, cols: predicted)',
    ...rep.confusion.map((row, c) => `${String(c).padStart(3)} ${row.map((v) => String(v).padStart(5)).join('')}`),
  ];
  return lines.join('\n');
}
