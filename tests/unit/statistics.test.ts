// The study's statistics against values computed by R 4.x (qt, pt, pnorm, t.test, wilcox.test) and by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  lnGamma,
  meanConfidenceInterval,
  normalCdf,
  pairedTTest,
  studentTCdf,
  studentTQuantile,
  wilcoxonSignedRank,
} from '../../pipeline/report/statistics.js';

const close = (got: number, want: number, tol: number, what = '') => assert.ok(Math.abs(got - want) <= tol, `${what} ${got} vs ${want} (tol ${tol})`);

// R's datasets::sleep: extra sleep of the same 10 patients under drug 1 and drug 2.
const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('distributions', () => {
  test('lnGamma: integers and 1/2', () => {
    close(lnGamma(1), 0, 1e-13);
    close(lnGamma(5), Math.log(24), 1e-13);
    close(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
    close(lnGamma(30), Math.log(8.841761993739701e30), 1e-10);
  });

  test('Student t quantiles (qt(0.975, df)) and cdf (pt)', () => {
    close(studentTQuantile(0.975, 1), 12.7062047, 1e-6, 'df 1');
    close(studentTQuantile(0.975, 4), 2.7764451, 1e-6, 'df 4');
    close(studentTQuantile(0.975, 9), 2.2621572, 1e-6, 'df 9');
    close(studentTQuantile(0.975, 29), 2.0452296, 1e-6, 'df 29');
    close(studentTQuantile(0.025, 9), -2.2621572, 1e-6, 'lower tail');
    close(studentTCdf(2, 5), 0.9490303, 1e-7);
    close(studentTCdf(-4.062128, 9), 0.001416445, 1e-8);
    close(studentTCdf(0, 3), 0.5, 1e-15);
    // Many degrees of freedom: the normal.
    close(studentTQuantile(0.975, 1e6), 1.959966, 1e-5);
  });

  test('normal cdf (pnorm), far into the tail', () => {
    close(normalCdf(1.96), 0.9750021, 1e-7);
    close(normalCdf(-3), 0.001349898, 1e-9);
    close(normalCdf(-6) / 9.865876e-10, 1, 1e-6);
    close(normalCdf(0), 0.5, 1e-15);
  });
});

describe('confidence interval and paired tests', () => {
  test('mean ± 95% CI of 1..5 (t.test(1:5): 1.036757 .. 4.963243)', () => {
    const ci = meanConfidenceInterval([1, 2, 3, 4, 5]);
    assert.equal(ci.mean, 3);
    close(ci.sd, Math.sqrt(2.5), 1e-12);
    close(ci.lo!, 1.036757, 1e-6);
    close(ci.hi!, 4.963243, 1e-6);
    const one = meanConfidenceInterval([0.8]);
    assert.equal(one.halfWidth, null);
    assert.throws(() => meanConfidenceInterval([]), /no values/);
    assert.throws(() => meanConfidenceInterval([1, NaN]), /finite/);
  });

  test('paired t-test on sleep (t = -4.0621, df = 9, p = 0.002833, CI -2.4598858 .. -0.7001142)', () => {
    const r = pairedTTest(drug1, drug2);
    close(r.mean, -1.58, 1e-12);
    close(r.t, -4.062128, 1e-6);
    assert.equal(r.df, 9);
    close(r.p, 0.00283289, 1e-8);
    close(r.lo!, -2.4598858, 1e-6);
    close(r.hi!, -0.7001142, 1e-6);
    // Swapping the samples flips the sign only.
    const s = pairedTTest(drug2, drug1);
    close(s.t, 4.062128, 1e-6);
    close(s.p, r.p, 1e-15);
    assert.deepEqual(pairedTTest([1, 2, 3], [0, 1, 2]).p, 0); // identical non-zero differences
    assert.throws(() => pairedTTest([1, 2], [1]), /pairs needed/);
    assert.throws(() => pairedTTest([1], [1]), /at least 2 pairs/);
  });

  test('Wilcoxon signed-rank, exact (no ties): hand-counted null distributions', () => {
    // d = 1, 2, 3, 4, -5: V = 10; P(V >= 10) = P(V <= 5) = 10/32 (subsets of 1..5 with sum <= 5), p = 20/32.
    const a = wilcoxonSignedRank([1, 2, 3, 4, -5], [0, 0, 0, 0, 0]);
    assert.deepEqual(a, { n: 5, v: 10, p: 0.625, method: 'exact' });
    // All ten differences positive: V = 55, p = 2 / 2^10.
    const b = wilcoxonSignedRank(Array.from({ length: 10 }, (_, i) => i + 1.5), Array(10).fill(0.5));
    assert.deepEqual(b, { n: 10, v: 55, p: 2 / 1024, method: 'exact' });
  });

  test('Wilcoxon signed-rank with a zero and ties (sleep: V = 0, p = 0.009091, normal approximation)', () => {
    const r = wilcoxonSignedRank(drug1, drug2);
    assert.equal(r.n, 9);
    assert.equal(r.v, 0);
    assert.equal(r.method, 'normal');
    close(r.p, 0.009090698, 1e-8);
    assert.deepEqual(wilcoxonSignedRank([1, 2], [1, 2]), { n: 0, v: 0, p: 1, method: 'normal' });
  });
});
