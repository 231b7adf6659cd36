#!/usr/bin/env node
// `make mutation [MODULES="a b"]`: StrykerJS mutation testing of the modules the headline numbers rest on, each
// against the test files that exercise it. Mutants are made in the compiled JavaScript (dist/), so no rebuild runs
// per mutant; the command runner runs `node --test` on the module's tests.
//   - Resumes: a module whose summary (bench/mutation/<name>.json, committed) exists is skipped unless --force;
//     Stryker's incremental file (runs/mutation/<name>.incremental.json) makes a forced rerun cheap while the
//     module's tests are unchanged (newer tests start it afresh).
//   - Writes the HTML report to runs/mutation/<name>/index.html and the table bench/mutation/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeMutationReadme } from '../pipeline/bench/mutation-readme.js';

interface Target {
  /** dist/ files to mutate. */
  mutate: string[];
  /** dist/ test files that must kill the mutants. */
  tests: string[];
  /** Stryker's timeoutMS (added to 1.5 x the unmutated run): shorter for modules full of loops, whose endless-loop mutants otherwise cost a minute each. */
  timeoutMs?: number;
}

/** The modules of issue #20, by name. Slow ones (export, serving) run only when named. */
const TARGETS: Record<string, Target & { slow?: boolean }> = {
  'classification-metrics': { mutate: ['dist/models/metrics/classification.js'], tests: ['dist/tests/unit/classification-metrics.test.js'] },
  'parity-metrics': { mutate: ['dist/pipeline/parity/metrics.js'], tests: ['dist/tests/parity/tolerance.test.js', 'dist/tests/parity/metrics.test.js', 'dist/tests/parity/metrics-values.test.js', 'dist/tests/parity/metrics-mutation.test.js'] },
  longtail: { mutate: ['dist/pipeline/data/longtail.js'], tests: ['dist/tests/unit/data-longtail.test.js', 'dist/tests/unit/longtail-mutation.test.js'] },
  'losses-registry': { mutate: ['dist/models/losses/registry.js', 'dist/models/losses/classification.js'], tests: ['dist/tests/unit/classification-metrics.test.js', 'dist/tests/unit/losses-numerics.test.js', 'dist/tests/unit/losses-registry-mutation.test.js'] },
  geometry: { mutate: ['dist/models/metrics/geometry.js'], tests: ['dist/tests/unit/geometry.test.js', 'dist/tests/unit/geometry-mutation.test.js'], timeoutMs: 20_000 },
  // Not preprocess-policy / serve-preprocess: their 4000x3000 and 2000x1500 images take ~30 s per run once instrumented.
  preprocess: { mutate: ['dist/serve/shared/preprocess.js'], tests: ['dist/tests/unit/preprocess-mutation.test.js', 'dist/tests/unit/exif-orientation.test.js'], timeoutMs: 10_000, slow: true },
  contrastive: { mutate: ['dist/models/losses/contrastive.js', 'dist/models/losses/ecl.js'], tests: ['dist/tests/unit/losses-contrastive.test.js', 'dist/tests/unit/losses-ecl.test.js', 'dist/tests/unit/losses-numerics.test.js', 'dist/tests/unit/losses-contrastive-mutation.test.js'], slow: true },
  'bn-folding': { mutate: ['dist/export/bn-folding.js'], tests: ['dist/tests/unit/export-graph.test.js', 'dist/tests/unit/bn-folding-mutation.test.js'], slow: true },
  // The batcher's own unit test (fake runner, fake clock): the HTTP integration test takes seconds per mutant.
  batcher: { mutate: ['dist/serve/node/batcher.js', 'dist/serve/node/batch-cost.js'], tests: ['dist/tests/unit/batcher.test.js', 'dist/tests/unit/batcher-pipeline.test.js', 'dist/tests/unit/batch-cost.test.js'] },
  // export-graph's corner spec and the small specs of op-mapping-mutation (all checked against tfjs); the families' export tests take too long per mutant.
  'op-mapping': { mutate: ['dist/export/op-mapping.js'], tests: ['dist/tests/unit/export-graph.test.js', 'dist/tests/unit/op-mapping-mutation.test.js'], timeoutMs: 15_000, slow: true },
};

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const SUMMARIES = join(ROOT, 'bench', 'mutation');
const WORK = join(ROOT, 'runs', 'mutation');

interface MutantResult {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number } };
}

/** A surviving mutant that no test can kill (same behaviour as the original), with the reason. */
interface Equivalent {
  file: string;
  line: number;
  mutator: string;
  replacement: string;
  why: string;
}

function runModule(name: string, t: Target): void {
  mkdirSync(WORK, { recursive: true });
  // Stryker's incremental mode reuses a mutant's result while the mutated file is unchanged, but the command runner
  // cannot tell it that the tests changed: a test file newer than the incremental file invalidates it.
  const incremental = join(WORK, `${name}.incremental.json`);
  if (existsSync(incremental) && t.tests.some((f) => statSync(join(ROOT, f)).mtimeMs > statSync(incremental).mtimeMs)) rmSync(incremental);
  const config = {
    testRunner: 'command',
    commandRunner: { command: `node --test --test-concurrency=1 ${t.tests.join(' ')}` },
    mutate: t.mutate,
    coverageAnalysis: 'off',
    incremental: true,
    incrementalFile: incremental,
    reporters: ['clear-text', 'json', 'html'],
    jsonReporter: { fileName: join(WORK, name, 'report.json') },
    htmlReporter: { fileName: join(WORK, name, 'index.html') },
    concurrency: 2,
    timeoutMS: t.timeoutMs ?? 60_000,
    tempDirName: join(WORK, '.stryker-tmp'),
    cleanTempDir: true,
    ignorePatterns: ['runs', 'bench', 'docs', '.git'],
  };
  const cfgPath = join(WORK, `${name}.stryker.json`);
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  process.stdout.write(`mutation: ${name} (${t.mutate.join(', ')}) against ${t.tests.length} test file(s)\n`);
  execFileSync(join(ROOT, 'node_modules', '.bin', 'stryker'), ['run', cfgPath], { cwd: ROOT, stdio: 'inherit' });
  const report = JSON.parse(readFileSync(join(WORK, name, 'report.json'), 'utf8')) as { files: Record<string, { mutants: MutantResult[] }> };
  const count = (s: string) => Object.values(report.files).reduce((n, f) => n + f.mutants.filter((m) => m.status === s).length, 0);
  const killed = count('Killed') + count('Timeout');
  const detectable = killed + count('Survived') + count('NoCoverage');
  const survivors = Object.entries(report.files).flatMap(([file, f]) =>
    f.mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage').map((m) => ({ file, line: m.location.start.line, mutator: m.mutatorName, replacement: m.replacement ?? '' })),
  );
  // Survivors named as equivalent (by hand, with a reason) stay named while they still survive.
  const summaryPath = join(SUMMARIES, `${name}.json`);
  const previous = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { equivalent?: Equivalent[] }).equivalent ?? [] : [];
  const same = (a: Omit<Equivalent, 'why'>, b: Omit<Equivalent, 'why'>) => a.file === b.file && a.line === b.line && a.mutator === b.mutator && a.replacement === b.replacement;
  const equivalent = previous.filter((e) => survivors.some((s) => same(s, e)));
  const summary = { module: name, mutate: t.mutate, tests: t.tests, score: detectable ? Math.round((1000 * killed) / detectable) / 10 : 100, killed, survived: count('Survived'), timeout: count('Timeout'), noCoverage: count('NoCoverage'), survivors, equivalent, date: new Date().toISOString().slice(0, 10) };
  mkdirSync(SUMMARIES, { recursive: true });
  writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
}

const args = process.argv.slice(2);
const force = args.includes('--force');
const named = args.filter((a) => !a.startsWith('--'));
for (const n of named) if (!TARGETS[n]) throw new Error(`unknown module '${n}' (known: ${Object.keys(TARGETS).join(', ')})`);
const todo = named.length ? named : Object.keys(TARGETS).filter((n) => !TARGETS[n]!.slow);
for (const name of todo) {
  if (!force && existsSync(join(SUMMARIES, `${name}.json`))) {
    process.stdout.write(`mutation: ${name}: summary exists (bench/mutation/${name}.json), skipped; --force reruns it\n`);
    continue;
  }
  runModule(name, TARGETS[name]!);
}
if (existsSync(SUMMARIES)) writeMutationReadme(SUMMARIES);
