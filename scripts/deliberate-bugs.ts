#!/usr/bin/env node
// `make bug-table [BUGS="id id"]`: the deliberate-bug table of issue #20, re-run. Each bug is a textual patch to a
// copy of the compiled build (it must match exactly once: a moved source fails loudly), run against the test files
// that should notice it. First the same tests run unpatched (a bug "caught" by tests that fail anyway means
// nothing). Results: bench/mutation/deliberate-bugs.json (committed; a partial run updates only its bugs) and the
// table in bench/mutation/README.md. Exit status 1 when any bug is not caught, hangs or its control fails.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { applyBug, DELIBERATE_BUGS as BUGS, makeSandbox, removeSandbox, runTests, type TestRun } from '../pipeline/bench/deliberate-bugs.js';
import { type BugResult, type BugTable, DELIBERATE_BUGS_FILE, writeMutationReadme } from '../pipeline/bench/mutation-readme.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const OUT = join(ROOT, 'bench', 'mutation');
const OPTS = { perTestTimeoutMs: 120_000, overallTimeoutMs: 600_000 };

function show(r: TestRun): string {
  return `${r.outcome}${r.firstFailure ? ` — first failure: ${r.firstFailure}` : ''} (${r.failed} failed, ${r.skipped} skipped, ${r.seconds} s)`;
}

async function main(): Promise<void> {
  const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const n of named) if (!BUGS.some((b) => b.id === n)) throw new Error(`unknown bug '${n}' (known: ${BUGS.map((b) => b.id).join(', ')})`);
  const todo = named.length ? BUGS.filter((b) => named.includes(b.id)) : BUGS;
  for (const b of todo) for (const t of b.tests) if (!existsSync(join(ROOT, t))) throw new Error(`bug '${b.id}': test file ${t} missing (build first: make build)`);

  const controls = new Map<string, TestRun>();
  const results: BugResult[] = [];
  for (const bug of todo) {
    // The unpatched control, once per set of tests and environment.
    const key = JSON.stringify([bug.tests, bug.env ?? {}]);
    if (!controls.has(key)) {
      const clean = makeSandbox(ROOT);
      try {
        const c = await runTests(clean, bug.tests, bug.env, OPTS);
        process.stdout.write(`control ${bug.tests.join(' ')}: ${show(c)}\n`);
        controls.set(key, c);
      } finally {
        removeSandbox(clean);
      }
    }
    const control = controls.get(key)!;
    const dir = makeSandbox(ROOT);
    let run: TestRun;
    try {
      applyBug(dir, bug);
      run = await runTests(dir, bug.tests, bug.env, OPTS);
    } finally {
      removeSandbox(dir);
    }
    const outcome = control.outcome !== 'pass' ? 'tests fail without the bug' : run.outcome === 'pass' ? 'not caught' : run.outcome;
    process.stdout.write(`bug ${bug.id}: ${outcome === run.outcome ? show(run) : `${outcome}; ${show(run)}`}\n`);
    results.push({
      id: bug.id,
      what: bug.what,
      patched: bug.file,
      tests: bug.tests,
      ...(bug.env ? { env: bug.env } : {}),
      outcome,
      firstFailure: run.firstFailure,
      failed: run.failed,
      skipped: run.skipped,
      seconds: run.seconds,
      date: new Date().toISOString().slice(0, 10),
    });
  }

  // Merge into the committed table (a partial run replaces only its bugs), in the order of BUGS.
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, DELIBERATE_BUGS_FILE);
  const old = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as BugTable).results : [];
  const byId = new Map([...old, ...results].map((r) => [r.id, r]));
  const table: BugTable = { command: 'make bug-table', results: BUGS.map((b) => byId.get(b.id)).filter((r): r is BugResult => r !== undefined) };
  writeFileAtomic(path, JSON.stringify(table, null, 2) + '\n');
  writeMutationReadme(OUT);
  const bad = results.filter((r) => r.outcome !== 'caught');
  if (bad.length) {
    process.stderr.write(`bug-table: ${bad.map((r) => `${r.id} (${r.outcome})`).join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
