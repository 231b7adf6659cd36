// The study's plans, run ids, resume and report, without training: the plans of the protocol (sizes, equal
// search budgets, paired seeds), run ids (stable, unique, defaults folded in), selection, the resumable runner
// (a run with a summary is skipped; a finished run folder is summarised without training again) and the report
// tables computed from summary files (numbers checked against R's values for the same data).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  BASELINE_SEEDS,
  configDrift,
  configKey,
  expectedConfig,
  finalIf10Plan,
  finalPlan,
  GRID,
  makeRun,
  methodHp,
  PAIRED_SEEDS,
  plateauPlan,
  runId,
  searchGrid,
  searchPlan,
  selectBest,
  trainArgsOf,
  type StudyRun,
} from '../../pipeline/train/study-plans.js';
import { loadSummaries, summaryPath, type RunSummary } from '../../pipeline/train/study-results.js';
import { runStudy, studyTrainArgs } from '../../pipeline/train/study.js';
import { finalSection, interactionTable, markerLines, pairedComparison, replaceBetweenMarkers, searchSection, selectionFrom, writeStudyReport } from '../../pipeline/report/study-report.js';

const dir = mkdtempSync(join(tmpdir(), 'ecl-study-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

describe('plans', () => {
  test('search: the same number of configurations for BCL and ECL; BCL is its full grid, ECL a fixed draw from its grid', () => {
    const bcl = searchPlan('bcl');
    const ecl = searchPlan('ecl');
    assert.equal(bcl.length, GRID.temperature.length * GRID.lambdaBc.length * GRID.laTau.length);
    assert.equal(bcl.length, 36);
    assert.equal(ecl.length, bcl.length);
    for (const p of [bcl, ecl]) {
      assert.equal(new Set(p.map(runId)).size, p.length, 'unique run ids');
      for (const r of p) assert.deepEqual([r.dataset, r.imbalance, r.epochs, r.seed], ['fmnist-lt', 100, 30, 1]);
    }
    assert.deepEqual(searchPlan('ecl').map(runId), ecl.map(runId), 'the draw is deterministic');
    for (const r of ecl) {
      assert.ok(GRID.temperature.includes(r.hp.temperature!) && GRID.lambdaCc.includes(r.hp.lambdaCc!) && GRID.laTau.includes(r.hp.laTau!));
      assert.ok(GRID.ccForm.includes(r.hp.ccForm!) && GRID.bcForm.includes(r.hp.bcForm!));
    }
    // Not a degenerate draw: both forms of both terms are tried.
    assert.equal(new Set(searchGrid('ecl').map((h) => `${h.ccForm}/${h.bcForm}`)).size, 4);
  });

  test('final: BCL and ECL on 10 paired seeds at the selection, the rest on 5; IF 10 pair; plateau at twice the epochs', () => {
    const sel = { bcl: { temperature: 0.1, lambdaBc: 0.35, laTau: 1 }, ecl: { temperature: 0.07, lambdaBc: 0.6, lambdaCc: 5, ccForm: 'direct' as const, bcForm: 'mean-vector' as const, laTau: 1.5 } };
    const fin = finalPlan(sel);
    const seedsOf = (m: string) => fin.filter((r) => r.method === m).map((r) => r.seed);
    assert.deepEqual(seedsOf('bcl'), PAIRED_SEEDS);
    assert.deepEqual(seedsOf('ecl'), PAIRED_SEEDS);
    for (const m of ['ce', 'la-ce', 'ecl-no-cc', 'ecl-no-bal']) assert.deepEqual(seedsOf(m), BASELINE_SEEDS);
    assert.equal(PAIRED_SEEDS.length, 10);
    assert.equal(BASELINE_SEEDS.length, 5);
    const one = (m: string) => fin.find((r) => r.method === m)!;
    assert.deepEqual(one('ecl').hp, { temperature: 0.07, laTau: 1.5, lambdaBc: 0.6, lambdaCc: 5, bcForm: 'mean-vector', ccForm: 'direct' });
    // The ablations keep ECL's selection for every term they have.
    assert.deepEqual(one('ecl-no-cc').hp, { temperature: 0.07, laTau: 1.5, lambdaBc: 0.6, bcForm: 'mean-vector' });
    assert.deepEqual(one('ecl-no-bal').hp, { temperature: 0.07, laTau: 1.5, lambdaBc: 0.6, lambdaCc: 5, ccForm: 'direct' });
    assert.deepEqual(one('la-ce').hp, { laTau: 1 });
    assert.ok(fin.every((r) => r.epochs === 60 && r.imbalance === 100));
    const if10 = finalIf10Plan(sel);
    assert.equal(if10.length, 20);
    assert.ok(if10.every((r) => r.imbalance === 10));
    const plat = plateauPlan(sel);
    assert.deepEqual([plat[0]!.method, plat[0]!.epochs, plat[0]!.seed], ['ecl', 120, 1]);
  });

  test('run ids: stable, defaults folded in, unused hyper-parameters ignored, everything else distinguishes', () => {
    const base = { method: 'bcl', dataset: 'fmnist-lt', imbalance: 100, epochs: 30, batchSize: 128, seed: 1 };
    const a = makeRun({ ...base, hp: { temperature: 0.1 } });
    assert.match(runId(a), /^bcl-t0\.1-la1-bc1-e30-s1-[0-9a-f]{8}$/);
    assert.equal(runId(makeRun({ ...base, hp: { temperature: 0.1, laTau: 1, lambdaBc: 1 } })), runId(a), 'explicit defaults = implicit');
    assert.equal(runId(makeRun({ ...base, hp: { temperature: 0.1, lambdaCc: 5 } })), runId(a), 'BCL has no CC-GE term');
    for (const other of [{ seed: 2 }, { imbalance: 10 }, { dataset: 'embedded' }, { batchSize: 64 }, { epochs: 31 }])
      assert.notEqual(runId(makeRun({ ...base, ...other, hp: { temperature: 0.1 } })), runId(a), JSON.stringify(other));
    assert.notEqual(runId(makeRun({ ...base, hp: { temperature: 0.1 }, extraArgs: ['--lr', '0.05'] })), runId(a));
    assert.equal(configKey(makeRun({ ...base, seed: 7, hp: { temperature: 0.1 } })), configKey(a));
    assert.deepEqual(methodHp('ce', { temperature: 3 }), {});
    assert.throws(() => methodHp('focal', {}), /unknown method 'focal'/);
    assert.deepEqual(trainArgsOf(a), ['--dataset', 'fmnist-lt', '--imbalance', '100', '--loss', 'bcl', '--epochs', '30', '--batch-size', '128', '--seed', '1', '--temperature', '0.1', '--la-tau', '1', '--lambda-bc', '1']);
    assert.deepEqual(studyTrainArgs({ runsDir: 'runs/study', backend: 'wasm' }, a).slice(-7), ['--backend', 'wasm', '--runs-dir', 'runs/study', '--name', runId(a), '--overwrite']);
  });

  test('config drift: a recorded config is compared with what the plan would train now', () => {
    const r = makeRun({ method: 'ecl', dataset: 'embedded', imbalance: 100, epochs: 2, batchSize: 64, seed: 3, hp: { temperature: 0.07 } });
    const now = expectedConfig(r);
    assert.deepEqual([now.loss, now.temperature, now.seed, now.batchSize], ['ecl', 0.07, 3, 64]);
    assert.deepEqual(configDrift({ ...now, name: 'x', backend: 'cpu', runsDir: '/elsewhere' }, r), []);
    assert.deepEqual(configDrift({ ...now, lr: 0.05 }, r), ['lr 0.05 (now 0.1)']);
    // A setting the run did not record (older code) is not drift.
    const { lr: _lr, ...older } = now;
    assert.deepEqual(configDrift(older, r), []);
  });

  test('selection: none until the whole grid ran; then the best validation score, ties to the first', () => {
    const plan = searchPlan('bcl');
    const score = new Map(plan.map((r, i) => [runId(r), i === 7 || i === 20 ? 0.9 : 0.5]));
    assert.equal(selectBest(plan, (r) => (runId(r) === runId(plan[35]!) ? null : score.get(runId(r))!)).best, null);
    const s = selectBest(plan, (r) => score.get(runId(r))!);
    assert.equal(s.done, 36);
    assert.equal(runId(s.best!.run), runId(plan[7]!));
  });
});

/** A summary as the runner writes it, with the given test / val balanced accuracy. */
function summary(r: StudyRun, testBal: number, valBal = testBal): RunSummary {
  return {
    schema: 1,
    runId: runId(r),
    plan: 'test',
    ...r,
    config: {},
    val: { top1: valBal, balancedAccuracy: valBal },
    test: { top1: testBal, balancedAccuracy: testBal, many: testBal, medium: testBal, few: null, perClass: [] },
    valCurve: [{ epoch: r.epochs, top1: valBal, balancedAccuracy: valBal }],
    geometry: { nc1: 1 + r.seed },
    wallSeconds: 1,
    backend: 'wasm',
    gitCommit: null,
    finishedAt: '2026-11-30T00:00:00.000Z',
  };
}

// R's datasets::sleep, as accuracies: ECL − BCL = drug2 − drug1 (in points): mean +1.58, t(9) = 4.062,
// p = 0.002833, CI [0.70, 2.46]; Wilcoxon: one zero dropped, V = 45, p = 0.009091.
const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('report from summary files', () => {
  const searchDone = () => {
    const m = new Map<string, RunSummary>();
    for (const meth of ['bcl', 'ecl'] as const) searchPlan(meth).forEach((r, i) => m.set(runId(r), summary(r, 0.5, i === 3 ? 0.8 : 0.7)));
    return m;
  };

  test('search table: progress, selection only when complete, best in bold', () => {
    const all = searchDone();
    const md = searchSection(all);
    assert.match(md, /\*\*BCL\*\*: 36 of 36 configurations done; selected: τ 0\.05, τ_LA 0\.5, λ_BC 0\.6 \(val 80\.00\)/);
    assert.equal((md.match(/\*\*80\.00\*\*/g) ?? []).length, 2);
    const part = new Map([...all].slice(1));
    assert.equal(selectionFrom(part).selection, null);
    assert.match(searchSection(part), /35 of 36 configurations done; selected: not yet/);
    assert.match(finalSection(part), /the search is not complete yet \(BCL 35 of 36, ECL 36 of 36\)/);
  });

  test('paired ECL − BCL: t-test and Wilcoxon as R gives them, and the reading against 0.5 points', () => {
    const sel = selectionFrom(searchDone()).selection!;
    const fin = finalPlan(sel);
    const by = (m: string, xs: number[]) => new Map(fin.filter((r) => r.method === m).map((r) => [r.seed, summary(r, 0.8 + xs[r.seed - 1]! / 100)]));
    const md = pairedComparison(by('ecl', drug2), by('bcl', drug1), 'ECL', 'BCL');
    assert.match(md, /\| ECL − BCL \| 10 \(1, 2, 3, 4, 5, 6, 7, 8, 9, 10\) \| \+1\.58 \| \[\+0\.70, \+2\.46\] \| t\(9\) = 4\.06, p = 0\.003 \| V = 45, p = 0\.009 \(normal\) \|/);
    assert.match(md, /ECL is better by more than 0\.5 points/);
    const undecided = pairedComparison(by('ecl', drug1.map((x, i) => x + (i % 2 ? 1.5 : -0.5))), by('bcl', drug1), 'ECL', 'BCL');
    assert.match(undecided, /undecided at this sample size: the CI reaches past ±0\.5 points on the positive side/);
    const same = pairedComparison(by('ecl', drug1.map((x, i) => x + (i % 2 ? 0.01 : -0.01))), by('bcl', drug1), 'ECL', 'BCL');
    assert.match(same, /no difference that matters/);
  });

  test('balancing × CC-GE: main effects and interaction, paired by seed', () => {
    const sel = selectionFrom(searchDone()).selection!;
    const fin = finalPlan(sel);
    // Per seed s (1..5): bcl 80, ecl-no-bal 81, ecl-no-cc 82, ecl 82 + s/10 (points). Interaction per seed:
    // (ecl − no-cc) − (no-bal − bcl) = s/10 − 1 -> mean −0.7; masses effect = (82 + 82 + s/10 − 80 − 81)/2 =
    // (3 + s/10)/2 -> mean 1.65; CC-GE effect = (81 + 82 + s/10 − 80 − 82)/2 -> mean 0.65.
    const val: Record<string, (s: number) => number> = { bcl: () => 80, 'ecl-no-bal': () => 81, 'ecl-no-cc': () => 82, ecl: (s) => 82 + s / 10 };
    const m = new Map<string, RunSummary>();
    for (const r of fin) if (val[r.method]) m.set(runId(r), summary(r, val[r.method]!(r.seed) / 100));
    const md = interactionTable(fin, m);
    assert.match(md, /mean over the 5 seed\(s\) all four ran \(1, 2, 3, 4, 5\)/);
    assert.match(md, /\| ECL's \(prototype weighs ½\) \| ecl-no-cc 82\.00 \| ecl 82\.30 \|/);
    assert.match(md, /\| ECL's masses \(mean over CC-GE on\/off\) \| \+1\.65 \| \[\+1\.55, \+1\.75\] \|/);
    assert.match(md, /\| CC-GE \(mean over the two mass rules\) \| \+0\.65 \|/);
    // d = -0.9..-0.5 (sd 0.158): CI half-width = 2.776 * 0.1581 / sqrt(5) = 0.196; t = -0.7 / 0.0707 = -9.90,
    // two-sided p = 5.84e-4 (scipy.stats.t.sf(9.8995, 4) * 2).
    assert.match(md, /\| interaction: \(ecl − ecl-no-cc\) − \(ecl-no-bal − bcl\) \| −0\.70 \| \[−0\.90, −0\.50\] \| t\(4\) = −9\.90, p = 5\.8e-4 \|/);
  });

  test('the document: only the text between the markers changes; missing markers are an error', () => {
    const [b1, e1] = markerLines('search');
    const [b2, e2] = markerLines('final');
    const doc = `# Title\n\nkept\n\n${b1}\nold search\n${e1}\n\nmiddle\n\n${b2}\nold final\n${e2}\n\ntail\n`;
    const next = replaceBetweenMarkers(doc, { search: 'NEW S', final: 'NEW F' });
    assert.equal(next, `# Title\n\nkept\n\n${b1}\n\nNEW S\n\n${e1}\n\nmiddle\n\n${b2}\n\nNEW F\n\n${e2}\n\ntail\n`);
    assert.equal(replaceBetweenMarkers(next, { search: 'NEW S', final: 'NEW F' }), next, 'idempotent');
    assert.throws(() => replaceBetweenMarkers('# no markers', { final: 'x' }), /has no '<!-- study:final:begin/);
  });
});

describe('resumable runner', () => {
  const runsDir = join(dir, 'runs');
  const resultsDir = join(dir, 'results');
  const runs = ['ce', 'la-ce'].map((method) => makeRun({ method, dataset: 'embedded', imbalance: 100, epochs: 2, batchSize: 64, seed: 1 }));

  /** Writes the files `ecl train` writes, as a finished run of `epochs` epochs would. */
  const writeRunFolder = (name: string, epochs: number, bal: number) => {
    const d = join(runsDir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.json'), JSON.stringify({ name, runsDir, loss: 'x' }));
    const line = (e: number) => JSON.stringify({ epoch: e, val: { top1: bal, balancedAccuracy: bal - 0.01 * (epochs - e) }, test: { top1: bal, balancedAccuracy: bal, many: bal, medium: bal, few: null, perClass: [bal] }, backend: 'cpu' });
    writeFileSync(join(d, 'metrics.jsonl'), Array.from({ length: epochs }, (_, i) => line(i + 1) + '\n').join(''));
    writeFileSync(join(d, 'train-summary.json'), JSON.stringify({ wallSeconds: 12.5 }));
  };

  test('trains what has no summary, summarises a finished folder without training, skips what has a summary', async () => {
    const trained: string[] = [];
    const trainOne = async (args: string[]) => {
      const name = args[args.indexOf('--name') + 1]!;
      trained.push(name);
      writeRunFolder(name, 2, 0.75);
    };
    // ce finished earlier but the study was interrupted before its summary: no training, just the summary.
    writeRunFolder(runId(runs[0]!), 2, 0.6);
    const first = await runStudy({ runs, plan: 'p', parallel: 2, runsDir, resultsDir, backend: 'cpu' }, quiet, trainOne);
    assert.deepEqual(trained, [runId(runs[1]!)]);
    assert.deepEqual(first.done.sort(), runs.map(runId).sort());
    const ce = JSON.parse(readFileSync(summaryPath(resultsDir, runs[0]!), 'utf8')) as RunSummary;
    assert.equal(ce.test.balancedAccuracy, 0.6);
    assert.deepEqual(ce.valCurve.map((p) => p.epoch), [1, 2]);
    assert.equal(ce.wallSeconds, 12.5);
    assert.equal(ce.plan, 'p');
    assert.equal('runsDir' in ce.config, false, 'the machine-local runs folder is not part of the summary');
    assert.match(summaryPath(resultsDir, runs[0]!), /results\/embedded-if100\/ce-e2-s1-[0-9a-f]{8}\.json$/);
    // Again: everything has a summary, nothing is trained (even with the run folders gone).
    rmSync(runsDir, { recursive: true, force: true });
    const second = await runStudy({ runs, plan: 'p', parallel: 2, runsDir, resultsDir, backend: 'cpu' }, quiet, trainOne);
    assert.deepEqual([second.done, second.skipped, trained.length], [[], 2, 1]);
    const { byId, bad } = loadSummaries(resultsDir);
    assert.deepEqual([...byId.keys()].sort(), runs.map(runId).sort());
    assert.deepEqual(bad, []);
  });

  test('a failed run does not stop the others and is retried next time; --max-runs leaves the rest', async () => {
    const more = [1, 2, 3].map((seed) => makeRun({ method: 'ce', dataset: 'embedded', imbalance: 100, epochs: 1, batchSize: 64, seed }));
    const rd = join(dir, 'results-2');
    const rr = join(dir, 'runs-2');
    const trainOne = async (args: string[]) => {
      const name = args[args.indexOf('--name') + 1]!;
      if (name === runId(more[0]!)) throw new Error('boom');
      const d = join(rr, name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'config.json'), '{}');
      writeFileSync(join(d, 'metrics.jsonl'), JSON.stringify({ epoch: 1, val: null, test: { top1: 0.5, balancedAccuracy: 0.5, many: null, medium: null, few: null, perClass: [] }, backend: 'cpu' }) + '\n');
    };
    const a = await runStudy({ runs: more, plan: 'p', parallel: 1, runsDir: rr, resultsDir: rd, backend: 'cpu', maxRuns: 2 }, quiet, trainOne);
    assert.deepEqual(a.failed.map((f) => f.runId), [runId(more[0]!)]);
    assert.deepEqual(a.done, [runId(more[1]!)]);
    assert.equal(a.left, 1);
    const b = await runStudy({ runs: more, plan: 'p', parallel: 1, runsDir: rr, resultsDir: rd, backend: 'cpu' }, quiet, trainOne);
    assert.deepEqual([b.skipped, b.done, b.failed.length], [1, [runId(more[2]!)], 1]);
  });

  test('an interrupted run (a checkpoint, unfinished metrics) continues with --resume; a fresh one starts with --overwrite', async () => {
    const two = [1, 2].map((seed) => makeRun({ method: 'ce', dataset: 'embedded', imbalance: 100, epochs: 2, batchSize: 64, seed }));
    const rd = join(dir, 'results-resume');
    const rr = join(dir, 'runs-resume');
    // Seed 1 was stopped after epoch 1 of 2: its folder has a checkpoint and one metrics line.
    const interrupted = join(rr, runId(two[0]!));
    mkdirSync(interrupted, { recursive: true });
    writeFileSync(join(interrupted, 'checkpoint.ckpt'), 'x');
    writeFileSync(join(interrupted, 'metrics.jsonl'), JSON.stringify({ epoch: 1 }) + '\n');
    const modes = new Map<string, string>();
    const trainOne = async (args: string[]) => {
      const name = args[args.indexOf('--name') + 1]!;
      modes.set(name, args.includes('--resume') ? 'resume' : args.includes('--overwrite') ? 'overwrite' : 'neither');
      const d = join(rr, name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'config.json'), '{}');
      const line = (e: number) => JSON.stringify({ epoch: e, val: null, test: { top1: 0.5, balancedAccuracy: 0.5, many: null, medium: null, few: null, perClass: [] }, backend: 'cpu' });
      writeFileSync(join(d, 'metrics.jsonl'), `${line(1)}\n${line(2)}\n`);
    };
    const r = await runStudy({ runs: two, plan: 'p', parallel: 1, runsDir: rr, resultsDir: rd, backend: 'cpu' }, quiet, trainOne);
    assert.deepEqual(r.failed, []);
    assert.deepEqual(Object.fromEntries(modes), { [runId(two[0]!)]: 'resume', [runId(two[1]!)]: 'overwrite' });
  });

  test('the report is regenerated from the files alone', () => {
    const doc = join(dir, 'results.md');
    const [b1, e1] = markerLines('search');
    const [b2, e2] = markerLines('final');
    writeFileSync(doc, `# R\n\n${b1}\n${e1}\n\n${b2}\n${e2}\n`);
    const rd = join(dir, 'results-3');
    for (const meth of ['bcl', 'ecl'] as const)
      for (const r of searchPlan(meth, { dataset: 'embedded', epochs: 1 })) {
        const p = summaryPath(rd, r);
        mkdirSync(join(p, '..'), { recursive: true });
        writeFileSync(p, JSON.stringify(summary(r, 0.5, 0.6)));
      }
    // With --epochs 1 for both, the final run of seed 1 is the search run itself (same definition, same id).
    for (const r of finalPlan({ bcl: searchPlan('bcl')[0]!.hp, ecl: searchPlan('ecl')[0]!.hp }, { dataset: 'embedded', epochs: 1 }))
      if (r.method === 'ecl' && r.seed === 2) writeFileSync(summaryPath(rd, r), JSON.stringify(summary(r, 0.7)));
    writeFileSync(join(rd, 'embedded-if100', 'junk.json'), '{"not": "a summary"}');
    const { byId, bad } = loadSummaries(rd);
    assert.equal(byId.size, 73);
    assert.equal(bad.length, 1);
    const md = writeStudyReport(doc, byId, { dataset: 'embedded', epochs: 1 });
    assert.equal(readFileSync(doc, 'utf8'), md);
    assert.match(md, /\*\*BCL\*\*: 36 of 36 configurations done; selected: τ 0\.05, τ_LA 0\.5, λ_BC 0\.35/);
    // ECL seeds 1 (0.5) and 2 (0.7): mean 60, CI half-width t(1) 12.706 * 0.1414 / sqrt(2) = 127.06 points.
    assert.match(md, /\| ecl \| .* \| 2 of 10 \| 60\.00 ± 127\.06 \|/);
    assert.match(md, /ECL − BCL: 1 paired seed\(s\) so far; at least 2 are needed/);
  });
});
