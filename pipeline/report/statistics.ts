// Small statistics for the study (docs/results.md): Student t confidence intervals, the paired t-test and the
// Wilcoxon signed-rank test. No npm package in the tree has them (vega-statistics has no t distribution), so they
// are written out here and checked against R's values in tests/unit/statistics.test.ts.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new Error(`lnGamma: x must be > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf: df must be > 0, got ${df}`);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the cdf, to ~1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  let lo = -1;
  let hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Φ(z), the standard normal cdf (via erfc = the regularised upper incomplete gamma Q(1/2, x²)). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  // erfc(x) = Q(1/2, x²) for x ≥ 0: accurate to ~1e-15 relative even far in the tail, where p-values live.
  if (x < 0) return 2 - erfc(-x);
  if (x === 0) return 1;
  return upperIncompleteGammaHalf(x * x);
}

/** Q(1/2, y) = Γ(1/2, y)/Γ(1/2): series for small y, continued fraction otherwise. */
function upperIncompleteGammaHalf(y: number): number {
  const a = 0.5;
  const gln = lnGamma(a);
  if (y < a + 1) {
    let sum = 1 / a;
    let del = sum;
    for (let n = 1; n < 500; n++) {
      del *= y / (a + n);
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(-y + a * Math.log(y) - gln);
  }
  const tiny = 1e-300;
  let b = y + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(-y + a * Math.log(y) - gln) * h;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function checkValues(xs: number[], what: string): void {
  if (!xs.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new Error(`${what}: every value must be a finite number`);
}

/** Sample standard deviation (n − 1); 0 for one value. */
export function sampleSd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface MeanCi {
  n: number;
  mean: number;
  sd: number;
  /** Half-width of the confidence interval (t, n − 1 df); null with fewer than 2 values. */
  halfWidth: number | null;
  lo: number | null;
  hi: number | null;
}

/** Mean with its two-sided confidence interval (Student t, default 95%). */
export function meanConfidenceInterval(xs: number[], level = 0.95): MeanCi {
  if (!xs.length) throw new Error('meanConfidenceInterval: no values');
  checkValues(xs, 'meanConfidenceInterval');
  const n = xs.length;
  const m = mean(xs);
  const sd = sampleSd(xs);
  if (n < 2) return { n, mean: m, sd, halfWidth: null, lo: null, hi: null };
  const h = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, sd, halfWidth: h, lo: m - h, hi: m + h };
}

export interface PairedTTest extends MeanCi {
  /** t statistic of the mean difference a − b (±Infinity when every difference is the same non-zero value). */
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
}

/** Paired t-test of a − b (same length, paired by index); needs at least 2 pairs. */
export function pairedTTest(a: number[], b: number[], level = 0.95): PairedTTest {
  if (a.length !== b.length) throw new Error(`pairedTTest: ${a.length} vs ${b.length} values (pairs needed)`);
  if (a.length < 2) throw new Error(`pairedTTest: needs at least 2 pairs, got ${a.length}`);
  checkValues([...a, ...b], 'pairedTTest');
  const d = a.map((x, i) => x - b[i]!);
  const ci = meanConfidenceInterval(d, level);
  const se = ci.sd / Math.sqrt(d.length);
  const df = d.length - 1;
  if (se === 0) return { ...ci, t: ci.mean === 0 ? 0 : Math.sign(ci.mean) * Infinity, df, p: ci.mean === 0 ? 1 : 0 };
  const t = ci.mean / se;
  return { ...ci, t, df, p: Math.min(1, 2 * studentTCdf(-Math.abs(t), df)) };
}

export interface WilcoxonTest {
  /** Pairs with a non-zero difference (zeros are dropped, as in Wilcoxon's original test and R). */
  n: number;
  /** V: the sum of the ranks of the positive differences a − b. */
  v: number;
  /** Two-sided p-value. */
  p: number;
  /** exact: the null distribution enumerated (n < 50, no ties, no zeros); normal: with continuity and tie corrections. */
  method: 'exact' | 'normal';
}

/** Wilcoxon signed-rank test of a − b, paired by index; matches R's wilcox.test(a, b, paired = TRUE). */
export function wilcoxonSignedRank(a: number[], b: number[]): WilcoxonTest {
  if (a.length !== b.length) throw new Error(`wilcoxonSignedRank: ${a.length} vs ${b.length} values (pairs needed)`);
  checkValues([...a, ...b], 'wilcoxonSignedRank');
  const all = a.map((x, i) => x - b[i]!);
  const d = all.filter((x) => x !== 0);
  const zeros = all.length - d.length;
  const n = d.length;
  if (n === 0) return { n, v: 0, p: 1, method: 'normal' };
  // Average ranks of |d| (ties share their mean rank).
  const order = d.map((x, i) => ({ x: Math.abs(x), i })).sort((p, q) => p.x - q.x);
  const rank = new Array<number>(n);
  const tieSizes: number[] = [];
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && order[e + 1]!.x === order[s]!.x) e++;
    for (let k = s; k <= e; k++) rank[order[k]!.i] = (s + e + 2) / 2;
    tieSizes.push(e - s + 1);
    s = e + 1;
  }
  const v = d.reduce((acc, x, i) => acc + (x > 0 ? rank[i]! : 0), 0);
  const ties = tieSizes.some((t) => t > 1);
  if (n < 50 && !ties && zeros === 0) {
    // counts[s] = number of sign patterns whose positive ranks sum to s.
    const max = (n * (n + 1)) / 2;
    const counts = new Array<number>(max + 1).fill(0);
    counts[0] = 1;
    for (let r = 1; r <= n; r++) for (let s = max; s >= r; s--) counts[s]! += counts[s - r]!;
    const total = 2 ** n;
    let le = 0;
    for (let s = 0; s <= v; s++) le += counts[s]!;
    let ge = 0;
    for (let s = v; s <= max; s++) ge += counts[s]!;
    return { n, v, p: Math.min(1, (2 * Math.min(le, ge)) / total), method: 'exact' };
  }
  const mu = (n * (n + 1)) / 4;
  const sigma = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieSizes.reduce((acc, t) => acc + (t ** 3 - t), 0) / 48);
  if (sigma === 0) return { n, v, p: 1, method: 'normal' };
  const z0 = v - mu;
  const z = (z0 - Math.sign(z0) * 0.5) / sigma;
  return { n, v, p: Math.min(1, 2 * Math.min(normalCdf(z), 1 - normalCdf(z))), method: 'normal' };
}
