// `make bug-table`'s machinery (pipeline/bench/deliberate-bugs.ts): a patch applies exactly once or fails loudly,
// every listed bug still matches the current build exactly once (so a moved source is noticed here, not months
// later in a stale table), and node --test's TAP output is read into the first failing test. One real sandboxed
// run: a patched copy of dist/ fails a test that the unpatched build passes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { applyBug, DELIBERATE_BUGS, makeSandbox, patchOnce, removeSandbox, runTests, summariseTap } from '../../pipeline/bench/deliberate-bugs.js';
import { mutationReadme } from '../../pipeline/bench/mutation-readme.js';

const ROOT = resolve(new URL('../../..', import.meta.url).pathname);

describe('patchOnce', () => {
  test('replaces the single occurrence', () => {
    assert.equal(patchOnce('a >= b; c', '>=', '>', 'x'), 'a > b; c');
  });
  test('refuses text that is missing, repeated, or a no-op', () => {
    assert.throws(() => patchOnce('a > b', '>=', '>', 'bug q'), { message: 'bug q: the patch text occurs 0 times (expected exactly once): ">=" — the source moved; update the bug' });
    assert.throws(() => patchOnce('a >= b >= c', '>=', '>', 'bug q'), /occurs 2 times/);
    assert.throws(() => patchOnce('a >= b', '>=', '>=', 'bug q'), /replaces the text with itself/);
  });
});

test('every deliberate bug matches the current build exactly once and names existing tests', () => {
  assert.equal(new Set(DELIBERATE_BUGS.map((b) => b.id)).size, DELIBERATE_BUGS.length, 'ids are unique');
  for (const bug of DELIBERATE_BUGS) {
    const text = readFileSync(join(ROOT, bug.file), 'utf8');
    assert.doesNotThrow(() => patchOnce(text, bug.search, bug.replace, `bug '${bug.id}' in ${bug.file}`));
    for (const t of bug.tests) assert.ok(existsSync(join(ROOT, t)), `bug '${bug.id}': ${t} exists`);
  }
});

test('summariseTap: the innermost failure first, suites not counted twice, timeouts and skips named', () => {
  const tap = [
    'TAP version 13',
    '# Subtest: suite',
    '    # Subtest: fine',
    '    ok 1 - fine',
    '    # Subtest: slow one',
    '    not ok 2 - slow one',
    '      ---',
    "      failureType: 'testTimeoutFailure'",
    "      error: 'test timed out after 100ms'",
    '      ...',
    '    # Subtest: wrong value',
    '    not ok 3 - wrong value',
    '      ---',
    "      failureType: 'testCodeFailure'",
    "      error: 'Expected values to be strictly equal'",
    '      ...',
    '    ok 4 - later # SKIP no adapter',
    'not ok 1 - suite',
    '  ---',
    "  failureType: 'subtestsFailed'",
    "  error: '2 subtests failed'",
    '  ...',
  ].join('\n');
  assert.deepEqual(summariseTap(tap), { firstFailure: 'slow one (per-test timeout): test timed out after 100ms', failed: 2, skipped: 1 });
  assert.deepEqual(summariseTap('ok 1 - a\nok 2 - b\n'), { firstFailure: null, failed: 0, skipped: 0 });
});

test('a sandboxed copy: the unpatched test passes, the patched one fails and is named', { timeout: 120_000 }, async () => {
  // A bug of our own in a module with a fast, exact test (the long-tail profile).
  const bug = DELIBERATE_BUGS.find((b) => b.id === 'longtail-no-epsilon')!;
  const tests = ['dist/tests/unit/longtail-profile.test.js'];
  const opts = { perTestTimeoutMs: 60_000, overallTimeoutMs: 110_000 };
  const clean = makeSandbox(ROOT);
  const dirty = makeSandbox(ROOT);
  try {
    assert.equal((await runTests(clean, tests, undefined, opts)).outcome, 'pass');
    applyBug(dirty, bug);
    assert.notEqual(readFileSync(join(dirty, bug.file), 'utf8'), readFileSync(join(ROOT, bug.file), 'utf8'), 'the copy is patched, the build is not');
    const r = await runTests(dirty, tests, undefined, opts);
    assert.equal(r.outcome, 'caught');
    assert.match(r.firstFailure ?? '', /exact powers keep their integer value/);
  } finally {
    removeSandbox(clean);
    removeSandbox(dirty);
  }
});

test('the overall limit turns a hanging run into "hang"', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecl-hang-'));
  try {
    writeFileSync(join(dir, 'hang.test.mjs'), "import { test } from 'node:test';\ntest('never ends', () => new Promise(() => setInterval(() => {}, 1000)));\n");
    const r = await runTests(dir, ['hang.test.mjs'], undefined, { perTestTimeoutMs: 600_000, overallTimeoutMs: 1_500 });
    assert.equal(r.outcome, 'hang');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the committed table names every deliberate bug', () => {
  const md = mutationReadme(join(ROOT, 'bench', 'mutation'));
  assert.match(md, /\| module \| files \| score \|/);
  for (const b of DELIBERATE_BUGS) assert.ok(md.includes(b.what.replace(/\|/g, '\\|')), `${b.id} in the table`);
});
