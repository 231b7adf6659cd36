// `ecl study`: the runs of a named plan of the protocol (docs/results.md) or an ad-hoc methods x seeds set, one
// committed summary JSON per finished run (pipeline/train/study.ts); `ecl study-report` (= study --report-only)
// rebuilds the tables in docs/results.md from those files.
import type { Argv, CommandModule } from 'yargs';
import { lossNames } from '../../models/losses/registry.js';
import { BACKENDS } from '../backend/select.js';
import { datasetNames } from '../data/registry.js';
import { makeRun, PLAN_NAMES, type PlanName, type PlanOverrides, type StudyHp, type StudyRun } from '../train/study-plans.js';
import { STUDY_METHODS } from '../train/study.js';
import { intAtLeast, nonNegNumber, numberAtLeast, numberList, posInt, posNumber, withStageHelp } from './common.js';
import { UsageError } from './errors.js';

const methodList = (v: unknown) => {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v]).flatMap((m) => String(m).split(',')).filter(Boolean);
  const bad = items.filter((m) => !lossNames().includes(m));
  if (!items.length || bad.length) throw new Error(`--methods: unknown '${bad.join(', ') || '(none)'}' (expected: ${lossNames().join(', ')})`);
  return items;
};

const HP_OPTIONS: [string, keyof StudyHp][] = [
  ['temperature', 'temperature'],
  ['la-tau', 'laTau'],
  ['lambda-bc', 'lambdaBc'],
  ['lambda-cc', 'lambdaCc'],
  ['bc-form', 'bcForm'],
  ['cc-form', 'ccForm'],
];

/** Options shared by study and study-report: where the files are, and a plan's smoke-run overrides. */
const fileOptions = <T>(y: Argv<T>) =>
  y
    .option('results-dir', { type: 'string', default: 'results', describe: 'root of the committed run summaries (results/<dataset>-if<IF>/<run-id>.json)' })
    .option('doc', { type: 'string', default: 'docs/results.md', describe: 'the results document whose marked tables are regenerated' })
    .option('dataset', { type: 'string', choices: datasetNames(), describe: 'plans: fmnist-lt (a change gives other run ids, e.g. for a smoke run on embedded); ad hoc: default fmnist-lt' })
    .option('imbalance', { type: 'number', coerce: numberAtLeast('imbalance', 1), describe: 'plans: the plan\'s (100; final-if10: 10); ad hoc: default 100' })
    .option('epochs', { type: 'number', coerce: posInt('epochs'), describe: "plans: the plan's (search 30, final 60); ad hoc: default 3" })
    .option('batch-size', { type: 'number', coerce: intAtLeast('batch-size', 2), describe: 'images per step (default 128)' });

function overridesOf(a: Record<string, unknown>): PlanOverrides {
  const o: PlanOverrides = {};
  if (a.dataset !== undefined) o.dataset = a.dataset as string;
  if (a.imbalance !== undefined) o.imbalance = a.imbalance as number;
  if (a.epochs !== undefined) o.epochs = a.epochs as number;
  if (a['batch-size'] !== undefined) o.batchSize = a['batch-size'] as number;
  return o;
}

async function regenerate(a: Record<string, unknown>, log: (l: string) => void): Promise<void> {
  const { loadSummaries } = await import('../train/study-results.js');
  const { writeStudyReport } = await import('../report/study-report.js');
  const { byId, bad } = loadSummaries(a['results-dir'] as string);
  for (const b of bad) log(`skipped ${b}`);
  try {
    writeStudyReport(a.doc as string, byId, overridesOf(a));
  } catch (e) {
    throw new UsageError(`${a.doc as string}: ${(e as Error).message}`);
  }
  log(`regenerated the study tables in ${a.doc as string} from ${byId.size} run summaries in ${a['results-dir'] as string}`);
}

function adhocRuns(a: Record<string, unknown>): StudyRun[] {
  const hp: StudyHp = {};
  for (const [opt, k] of HP_OPTIONS) if (a[opt] !== undefined) (hp as Record<string, unknown>)[k] = a[opt];
  return (a.methods as string[]).flatMap((method) =>
    (a.seeds as number[]).map((seed) =>
      makeRun({
        method,
        seed,
        dataset: (a.dataset as string | undefined) ?? 'fmnist-lt',
        imbalance: (a.imbalance as number | undefined) ?? 100,
        epochs: (a.epochs as number | undefined) ?? 3,
        batchSize: (a['batch-size'] as number | undefined) ?? 128,
        hp,
      }),
    ),
  );
}

export const studyCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'study',
  describe: 'train the runs of a study plan (or methods x seeds), one summary JSON per run; then regenerate docs/results.md',
  builder: (y) =>
    withStageHelp(
      fileOptions(
        y
          .option('plan', { type: 'string', choices: PLAN_NAMES as unknown as string[], describe: 'a plan of the protocol in docs/results.md (final, final-if10 and plateau need the finished search)' })
          .option('report-only', { type: 'boolean', default: false, describe: 'train nothing: regenerate the tables from the summaries (= ecl study-report)' })
          .option('max-runs', { type: 'number', coerce: posInt('max-runs'), describe: 'train at most N runs now; the rest on the next call' }),
      )
        .group(['plan', 'report-only', 'max-runs', 'results-dir', 'doc', 'dataset', 'imbalance', 'epochs', 'batch-size'], 'Plan and files:')
        .option('seeds', { type: 'array', number: true, coerce: numberList('seeds', 'integers >= 0', (x) => Number.isInteger(x) && x >= 0), describe: 'ad hoc: one run per method and seed (default 1 2 3)' })
        .option('methods', { type: 'array', string: true, coerce: methodList, describe: `ad hoc: losses to compare, space- or comma-separated (default ${STUDY_METHODS.join(',')})` })
        .option('temperature', { type: 'number', coerce: posNumber('temperature'), describe: 'ad hoc: passed to every run that uses it' })
        .option('la-tau', { type: 'number', coerce: nonNegNumber('la-tau'), describe: 'ad hoc: passed to every run that uses it' })
        .option('lambda-bc', { type: 'number', coerce: nonNegNumber('lambda-bc'), describe: 'ad hoc: passed to every run that uses it' })
        .option('lambda-cc', { type: 'number', coerce: nonNegNumber('lambda-cc'), describe: 'ad hoc: passed to every run that uses it' })
        .option('bc-form', { type: 'string', choices: ['mass', 'mean-vector'], describe: 'ad hoc: passed to every run that uses it' })
        .option('cc-form', { type: 'string', choices: ['gram', 'direct'], describe: 'ad hoc: passed to every run that uses it' })
        .option('out', { type: 'string', describe: 'ad hoc: also write a markdown table of these runs here (and an HTML comparison next to it)' })
        .group(['seeds', 'methods', 'temperature', 'la-tau', 'lambda-bc', 'lambda-cc', 'bc-form', 'cc-form', 'out'], 'Ad hoc (without --plan):')
        .option('backend', { type: 'string', choices: ['auto', ...BACKENDS], default: 'wasm', describe: 'tfjs backend of every run' })
        .option('parallel', { type: 'number', default: 2, coerce: posInt('parallel'), describe: 'training processes at a time' })
        .option('runs-dir', { type: 'string', default: 'runs/study', describe: 'folder of the run folders (not committed; a finished one is summarised, not retrained)' })
        .group(['backend', 'parallel', 'runs-dir'], 'Runs:'),
      'study',
      [
        ['$0 study --plan search-bcl --parallel 2', 'the BCL search of the protocol (make study-search runs both searches)'],
        ['$0 study --plan final', 'the final runs at the selected configurations (make study-final)'],
        ['$0 study-report', 'regenerate the tables of docs/results.md from results/ (make results)'],
        ['$0 study --plan search-ecl --dataset embedded --epochs 1 --max-runs 2 --results-dir /tmp/r --doc /tmp/results.md', 'a smoke run of the machinery'],
        ['$0 study --methods ce,ecl --seeds 1 --epochs 1 --dataset embedded --out /tmp/study.md', 'an ad-hoc comparison'],
      ],
    ) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => {
    const log = (l: string) => console.log(l);
    if (a['report-only']) return regenerate(a, log);
    const adhocGiven = ['seeds', 'methods', 'out', ...HP_OPTIONS.map(([o]) => o)].filter((k) => a[k] !== undefined);
    const { runStudy, planRuns } = await import('../train/study.js');
    let runs: StudyRun[];
    let plan: string;
    if (a.plan !== undefined) {
      if (adhocGiven.length) throw new UsageError(`--plan fixes methods, seeds and hyper-parameters; drop ${adhocGiven.map((k) => '--' + k).join(', ')}`);
      plan = a.plan as string;
      try {
        runs = await planRuns(plan as PlanName, a['results-dir'] as string, overridesOf(a));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    } else {
      plan = 'adhoc';
      runs = adhocRuns({ ...a, methods: a.methods ?? STUDY_METHODS, seeds: a.seeds ?? [1, 2, 3] });
    }
    const outcome = await runStudy(
      { runs, plan, parallel: a.parallel as number, runsDir: a['runs-dir'] as string, resultsDir: a['results-dir'] as string, backend: a.backend as string, maxRuns: a['max-runs'] as number | undefined },
      log,
    );
    if (plan === 'adhoc' && typeof a.out === 'string') await writeAdhocTable(runs, a, log);
    if (plan !== 'adhoc') await regenerate(a, log);
    if (outcome.failed.length) throw new Error(`${outcome.failed.length} run(s) failed: ${outcome.failed.map((f) => f.runId).join(', ')} (the next call retries them)`);
  },
};

async function writeAdhocTable(runs: StudyRun[], a: Record<string, unknown>, log: (l: string) => void): Promise<void> {
  const { join } = await import('node:path');
  const { writeFileAtomic } = await import('../../models/artifacts/atomic-write.js');
  const { loadSummaries } = await import('../train/study-results.js');
  const { methodTable } = await import('../report/study-report.js');
  const { runId } = await import('../train/study-plans.js');
  const out = a.out as string;
  const r0 = runs[0]!;
  const md = [
    `Dataset ${r0.dataset}, imbalance factor ${r0.imbalance}, ${r0.epochs} epochs, batch ${r0.batchSize}, backend ${a.backend as string}.`,
    'Test split, final epoch; accuracy in %, mean ± half-width of the 95% CI over seeds (Student t).',
    '',
    methodTable(runs, loadSummaries(a['results-dir'] as string).byId),
    '',
  ].join('\n');
  writeFileAtomic(out, md);
  log(md);
  // The same runs as one offline HTML page: mean ± 95% CI per method, paired differences, per-class curves.
  const { writeCompareReport } = await import('../report/compare.js');
  const html = out.replace(/\.md$/i, '') + '.html';
  // Only the run folders still here (the summaries do not hold per-class curves of every epoch).
  const { existsSync } = await import('node:fs');
  const dirs = runs.map((r) => join(a['runs-dir'] as string, runId(r))).filter((d) => existsSync(d));
  if (!dirs.length) return log(`no run folders under ${a['runs-dir'] as string}: no HTML comparison`);
  const rep = await writeCompareReport(dirs, html);
  log(`wrote ${rep.path} (${rep.methods.length} methods${rep.skipped.length ? `; skipped: ${rep.skipped.join('; ')}` : ''})`);
}

export const studyReportCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'study-report',
  describe: 'regenerate the study tables in docs/results.md from the committed run summaries (results/)',
  builder: (y) =>
    withStageHelp(fileOptions(y), 'study', [
      ['$0 study-report', 'make results'],
      ['$0 study-report --results-dir /tmp/r --doc /tmp/results.md --dataset embedded --epochs 1', 'the tables of a smoke run'],
    ]) as unknown as Argv<Record<string, unknown>>,
  handler: async (a) => regenerate(a, (l) => console.log(l)),
};
