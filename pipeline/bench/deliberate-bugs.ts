// The machinery of `make bug-table` (scripts/deliberate-bugs.ts): a deliberate bug is a textual patch to one
// compiled file in a sandboxed copy of dist/, and the test files that should notice it are run there with
// per-test timeouts and a hard overall limit. The outcome says whether a test failed, which one first, or whether
// the run hung.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BugOutcome } from './mutation-readme.js';

export interface DeliberateBug {
  id: string;
  /** One line for the table. */
  what: string;
  /** The compiled file, relative to the repository root (dist/...). */
  file: string;
  /** Text that must occur exactly once in the file, and what replaces it. */
  search: string;
  replace: string;
  /** dist/ test files to run against the patched copy. */
  tests: string[];
  env?: Record<string, string>;
}

const PARITY_TESTS = ['dist/tests/parity/tolerance.test.js', 'dist/tests/parity/metrics.test.js', 'dist/tests/parity/metrics-values.test.js'];
const LONGTAIL_TESTS = ['dist/tests/unit/data-longtail.test.js', 'dist/tests/unit/longtail-profile.test.js'];

/** The table of issue #20. `search` is the compiled text (tsc output of the current sources). */
export const DELIBERATE_BUGS: DeliberateBug[] = [
  {
    id: 'parity-no-rtol',
    what: 'parity: the `rtol` term dropped from the tolerance',
    file: 'dist/pipeline/parity/metrics.js',
    search: 'const allowed = tol.atol + tol.rtol * Math.abs(r[i]);',
    replace: 'const allowed = tol.atol;',
    tests: PARITY_TESTS,
  },
  {
    id: 'parity-extra-1e-3',
    what: 'parity: an extra 1e-3 added to every tolerance',
    file: 'dist/pipeline/parity/metrics.js',
    search: 'const allowed = tol.atol + tol.rtol * Math.abs(r[i]);',
    replace: 'const allowed = 1e-3 + tol.atol + tol.rtol * Math.abs(r[i]);',
    tests: PARITY_TESTS,
  },
  {
    id: 'parity-probs-ignored',
    what: 'parity: probabilities never compared',
    file: 'dist/pipeline/parity/metrics.js',
    search: "for (const output of hasLogits ? ['logits', 'probs'] : ['probs'])",
    replace: "for (const output of hasLogits ? ['logits'] : [])",
    tests: PARITY_TESTS,
  },
  {
    id: 'la-ce-tau-0',
    what: '`la-ce` built with τ_LA = 0, i.e. plain CE',
    file: 'dist/models/losses/registry.js',
    search: "'la-ce': (hp) => laCeLoss(hp.laTau),",
    replace: "'la-ce': (hp) => laCeLoss(0),",
    tests: ['dist/tests/unit/classification-metrics.test.js', 'dist/tests/unit/losses-numerics.test.js', 'dist/tests/unit/losses-registry-mutation.test.js'],
  },
  {
    id: 'trainer-views-slot-0',
    what: 'the trainer writes all three views into slot 0',
    file: 'dist/pipeline/train/trainer.js',
    search: 'batchBuf.set(viewBuf, v * B * px);',
    replace: 'batchBuf.set(viewBuf, 0);',
    tests: ['dist/tests/integration/train-ecl.test.js'],
  },
  {
    id: 'longtail-no-min-1',
    what: 'long tail: the "at least one image per class" rule removed',
    file: 'dist/pipeline/data/longtail.js',
    search: 'Math.max(1, Math.floor(v * (1 + 1e-9)))',
    replace: 'Math.floor(v * (1 + 1e-9))',
    tests: LONGTAIL_TESTS,
  },
  {
    id: 'longtail-no-epsilon',
    what: 'long tail: the rounding epsilon removed',
    file: 'dist/pipeline/data/longtail.js',
    search: 'Math.floor(v * (1 + 1e-9))',
    replace: 'Math.floor(v)',
    tests: LONGTAIL_TESTS,
  },
  {
    id: 'webgpu-register-throws',
    what: '`registerWebgpuTrainingKernels` throws (with ECL_REQUIRE=webgpu, as CI runs)',
    file: 'dist/pipeline/backend/kernels/webgpu-training-kernels.js',
    search: 'export function registerWebgpuTrainingKernels() {',
    replace: "export function registerWebgpuTrainingKernels() {\n    throw new Error('deliberate bug: kernel registration fails');",
    tests: ['dist/tests/unit/webgpu-kernels.test.js'],
    env: { ECL_REQUIRE: 'webgpu' },
  },
  {
    id: 'batcher-queue-gt',
    what: 'batcher queue check `>=` → `>`',
    file: 'dist/serve/node/batcher.js',
    search: 'if (this.queue.length >= this.opts.maxQueue)',
    replace: 'if (this.queue.length > this.opts.maxQueue)',
    tests: ['dist/tests/integration/serve-batching.test.js'],
  },
];

/** Replaces the one occurrence of `search`; throws when it occurs 0 or 2+ times (the source moved: update the bug). */
export function patchOnce(text: string, search: string, replace: string, where: string): string {
  if (search === replace) throw new Error(`${where}: the patch replaces the text with itself`);
  const n = text.split(search).length - 1;
  if (n !== 1) throw new Error(`${where}: the patch text occurs ${n} times (expected exactly once): ${JSON.stringify(search)} — the source moved; update the bug`);
  const at = text.indexOf(search);
  return text.slice(0, at) + replace + text.slice(at + search.length);
}

/**
 * A copy of `root`'s dist/ in a temporary folder, every other top-level entry of `root` (node_modules, tests'
 * fixtures, package.json...) linked in, so that paths the tests resolve from their own location still work.
 */
export function makeSandbox(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecl-bug-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const e of readdirSync(root)) if (!['dist', '.git', 'runs'].includes(e)) symlinkSync(join(root, e), join(dir, e));
  return dir;
}

export function applyBug(sandbox: string, bug: DeliberateBug): void {
  const path = join(sandbox, bug.file);
  writeFileSync(path, patchOnce(readFileSync(path, 'utf8'), bug.search, bug.replace, `bug '${bug.id}' in ${bug.file}`));
}

export interface TapSummary {
  /** The first `not ok` test in output order (node reports subtests before their parent: the innermost). */
  firstFailure: string | null;
  failed: number;
  skipped: number;
}

/** Reads node --test's TAP output. Leaf tests only: a suite that fails because its subtests did is not counted again. */
export function summariseTap(tap: string): TapSummary {
  const lines = tap.split('\n');
  let firstFailure: string | null = null;
  let failed = 0;
  let skipped = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(not ok|ok) \d+ - (.*?)(\s+# (SKIP|TODO)\b.*)?$/i.exec(lines[i]!);
    if (!m) continue;
    if (m[5]?.toUpperCase() === 'SKIP') skipped++;
    if (m[2] !== 'not ok') continue;
    // The YAML block under the test says why; a suite's own failure is 'subtestsFailed'.
    let type = '';
    let error = '';
    for (let j = i + 1; j < lines.length && !/^\s*(not ok|ok) \d+ - /.test(lines[j]!) && !/^\s*\.\.\.\s*$/.test(lines[j]!); j++) {
      type ||= /failureType: '([^']+)'/.exec(lines[j]!)?.[1] ?? '';
      error ||= /^\s*error: (.*)$/.exec(lines[j]!)?.[1]?.replace(/^\|-?$|^'|'$/g, '') ?? '';
    }
    if (type === 'subtestsFailed') continue;
    failed++;
    firstFailure ??= `${m[3]}${type === 'testTimeoutFailure' ? ' (per-test timeout)' : ''}${error ? `: ${error.slice(0, 160)}` : ''}`;
  }
  return { firstFailure, failed, skipped };
}

export interface RunOptions {
  perTestTimeoutMs: number;
  overallTimeoutMs: number;
}

export interface TestRun extends TapSummary {
  outcome: Exclude<BugOutcome, 'tests fail without the bug'> | 'pass';
  exitCode: number | null;
  seconds: number;
  tap: string;
}

/** Runs the test files with node --test in `cwd`; kills the whole process group at the overall limit. */
export function runTests(cwd: string, tests: string[], env: Record<string, string> | undefined, o: RunOptions): Promise<TestRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${o.perTestTimeoutMs}`, '--test-reporter=tap', ...tests], {
      cwd,
      // Without NODE_TEST_CONTEXT: set by an enclosing `node --test`, it would make this run report to that one.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let tap = '';
    child.stdout.on('data', (d: Buffer) => (tap += d.toString()));
    child.stderr.on('data', (d: Buffer) => (tap += d.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, o.overallTimeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const s = summariseTap(tap);
      const outcome = hung ? 'hang' : code === 0 ? 'pass' : 'caught';
      resolve({ ...s, outcome, exitCode: code, seconds: Math.round((Date.now() - t0) / 100) / 10, tap });
    });
  });
}

export function removeSandbox(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
