// .ci/run's requirement check: with ECL_REQUIRE naming a requirement that is missing, its suite fails with a
// message naming it; without ECL_REQUIRE the same suite skips with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { REQUIREMENTS } from '../helpers/require.js';

const SUITE = fileURLToPath(new URL('../browser/web-app.test.js', import.meta.url));
const runSuite = (env: Record<string, string>) => {
  // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP.
  const { ECL_REQUIRE: _r, NODE_TEST_CONTEXT: _c, ...base } = process.env;
  return spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-name-pattern', 'Chromium', SUITE], {
    env: { ...base, ECL_CHROMIUM: '/nonexistent/chromium', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
};

describe('ECL_REQUIRE', { timeout: 240_000 }, () => {
  it('a required but missing Chromium fails the browser suite, naming it', () => {
    const r = runSuite({ ECL_REQUIRE: 'onnx,chromium' });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stdout + r.stderr, /chromium is required \(ECL_REQUIRE=onnx,chromium\) but missing: ECL_CHROMIUM=\/nonexistent\/chromium does not exist/);
  });

  it('not required: the suite skips with the reason and passes', () => {
    const r = runSuite({});
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# SKIP ECL_CHROMIUM=\/nonexistent\/chromium does not exist/);
  });

  it('.ci/run requires every suite it installs packages for', () => {
    const ci = readFileSync(fileURLToPath(new URL('../../../.ci/run', import.meta.url)), 'utf8');
    const m = /ECL_REQUIRE=([a-z,]+)/.exec(ci);
    assert.ok(m, 'ECL_REQUIRE is set in .ci/run');
    // Every requirement a test can name, so no suite can turn into skips in CI.
    assert.deepEqual(m[1]!.split(',').sort(), [...REQUIREMENTS].sort());
  });
});
