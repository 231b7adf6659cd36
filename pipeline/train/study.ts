// `ecl study`: the method comparison table (docs/results.md). Each (method, seed) is a normal `ecl train`
// run in its own process (so runs are independent and can go two at a time on two cores); the table is
// built from the runs' metrics.jsonl, so an interrupted study resumes by skipping finished runs.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EpochMetrics } from './trainer.js';
import { writeFileAtomic } from '../../models/artifacts/atomic-write.js';

export interface StudyOptions {
  dataset: string;
  imbalance: number;
  epochs: number;
  batchSize: number;
  seeds: number[];
  methods: string[];
  parallel: number;
  runsDir: string;
  backend: string;
  out: string;
  extraArgs: string[];
  /** Distinguishes runs of the same method with different extra options (sweeps). */
  tag?: string;
}

export const STUDY_METHODS = ['ce', 'la-ce', 'bcl', 'ecl', 'ecl-no-cc', 'ecl-no-bal'];

const cli = fileURLToPath(new URL('../cli.js', import.meta.url));

export function runName(o: StudyOptions, method: string, seed: number): string {
  return `study-${o.dataset}-if${o.imbalance}-e${o.epochs}-${method}${o.tag ? '-' + o.tag : ''}-s${seed}`;
}

export function trainArgs(o: StudyOptions, method: string, seed: number): string[] {
  return [
    'train',
    '--dataset', o.dataset,
    '--imbalance', String(o.imbalance),
    '--loss', method,
    '--epochs', String(o.epochs),
    '--batch-size', String(o.batchSize),
    '--seed', String(seed),
    '--backend', o.backend,
    '--runs-dir', o.runsDir,
    '--name', runName(o, method, seed),
    // Finished runs are skipped; an unfinished one (interrupted) is trained again from scratch.
    '--overwrite',
    ...o.extraArgs,
  ];
}

function finished(o: StudyOptions, method: string, seed: number): EpochMetrics | null {
  const p = join(o.runsDir, runName(o, method, seed), 'metrics.jsonl');
  if (!existsSync(p)) return null;
  const lines = readFileSync(p, 'utf8').trim().split('\n').filter(Boolean);
  const last = lines.length ? (JSON.parse(lines.at(-1)!) as EpochMetrics) : null;
  return last && last.epoch === o.epochs ? last : null;
}

function trainOnce(args: string[], log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { maxBuffer: 64 << 20, env: { ...process.env, CI: '1' } }, (err, _out, stderr) => {
      if (err) reject(new Error(`ecl ${args.join(' ')} failed: ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      else resolve();
    });
    log(`started: ecl ${args.join(' ')}`);
  });
}

export async function runStudy(o: StudyOptions, log: (l: string) => void = console.log): Promise<string> {
  const jobs: [string, number][] = [];
  for (const m of o.methods) for (const s of o.seeds) if (!finished(o, m, s)) jobs.push([m, s]);
  log(`study: ${o.methods.length} methods x ${o.seeds.length} seeds, ${jobs.length} runs to go, ${o.parallel} at a time`);
  const queue = [...jobs];
  const worker = async () => {
    for (let j = queue.shift(); j; j = queue.shift()) {
      const t0 = Date.now();
      await trainOnce(trainArgs(o, j[0], j[1]), log);
      log(`finished ${runName(o, j[0], j[1])} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, worker));
  const md = studyTable(o);
  writeFileAtomic(o.out, md);
  log(md);
  // The same runs as one offline HTML page: mean ± 95% CI per method, paired differences, per-class curves.
  const { writeCompareReport } = await import('../report/compare.js');
  const html = o.out.replace(/\.md$/i, '') + '.html';
  const rep = await writeCompareReport(o.methods.flatMap((m) => o.seeds.map((s) => join(o.runsDir, runName(o, m, s)))), html);
  log(`wrote ${rep.path} (${rep.methods.length} methods${rep.skipped.length ? `; skipped: ${rep.skipped.join('; ')}` : ''})`);
  return md;
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const std = (a: number[]) => (a.length > 1 ? Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1)) : 0);
const fmt = (a: number[], scale = 100, digits = 2) => (a.length ? `${(mean(a) * scale).toFixed(digits)} ± ${(std(a) * scale).toFixed(digits)}` : 'n/a');

export function studyTable(o: StudyOptions): string {
  const rows: string[] = [];
  const geoRows: string[] = [];
  const cmds: string[] = [];
  const valRows: string[] = [];
  const col0 = (runs: EpochMetrics[], f: (r: EpochMetrics) => number | null) => runs.map(f).filter((v): v is number => v !== null);
  for (const m of o.methods) {
    const runs = o.seeds.map((s) => finished(o, m, s)).filter((r): r is EpochMetrics => r !== null);
    const C = runs[0]?.test.perClass.length ?? 0;
    const valTop1 = col0(runs, (r) => r.val?.top1 ?? null);
    const valBal = col0(runs, (r) => r.val?.balancedAccuracy ?? null);
    valRows.push(`| ${m} | ${fmt(valTop1)} | ${fmt(valBal)} |`);
    const rare = [C - 3, C - 2, C - 1];
    const col = (f: (r: EpochMetrics) => number | null) => runs.map(f).filter((v): v is number => v !== null);
    rows.push(
      `| ${m} | ${runs.length} | ${fmt(col((r) => r.test.top1))} | ${fmt(col((r) => r.test.balancedAccuracy))} | ` +
        `${fmt(col((r) => r.test.many))} | ${fmt(col((r) => r.test.medium))} | ${fmt(col((r) => r.test.few))} | ` +
        rare.map((c) => fmt(col((r) => r.test.perClass[c] ?? null))).join(' | ') +
        ' |',
    );
    const g = (k: string) => col((r) => r.geometry?.[k] ?? null);
    geoRows.push(
      `| ${m} | ${fmt(g('nc1'), 1, 3)} | ${fmt(g('equiangularityMean'), 1, 3)} | ${fmt(g('equiangularityStd'), 1, 3)} | ` +
        `${fmt(g('equinormCv'), 1, 3)} | ${fmt(g('classifierAlignment'), 1, 3)} | ${fmt(g('classifierPrototypeGramDistance'), 1, 3)} |`,
    );
    cmds.push(...o.seeds.map((s) => `node dist/pipeline/cli.js ${trainArgs(o, m, s).join(' ')}`));
  }
  const header = [
    `Dataset ${o.dataset}, imbalance factor ${o.imbalance}, ${o.epochs} epochs, batch ${o.batchSize}, seeds ${o.seeds.join(', ')}, backend ${o.backend}.`,
    `Test set: balanced. Values are mean ± std over seeds (accuracy in %).`,
    '',
    '| method | seeds | top-1 | balanced acc | many | medium | few | 3rd-rarest class | 2nd-rarest | rarest |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Geometry of the test features at the end of training (ideal: NC1 0, mean cos −1/(C−1), std 0, equinorm CV 0, alignment 1, Gram distance 0):',
    '',
    '| method | NC1 | class-mean cos (mean) | cos (std) | equinorm CV | W–mean alignment | W–prototype Gram dist |',
    '|---|---|---|---|---|---|---|',
    ...geoRows,
    '',
    'Validation split (training images the long-tail subset did not use; what hyper-parameters are chosen on):',
    '',
    '| method | val top-1 | val balanced acc |',
    '|---|---|---|',
    ...valRows,
    '',
    'Commands (each row aggregates these runs):',
    '',
    '```',
    ...cmds,
    '```',
    '',
  ];
  return header.join('\n');
}
