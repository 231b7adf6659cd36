// Plain-JS float64 reference implementations of the ECL terms, written straight from the spec
// (docs/ECL.md) with loops and no stability shift. Independent of the tensor code under test.

export type Vec = number[];
export type Matrix = number[][];

export function normalizeRows(m: Matrix): Matrix {
  return m.map((r) => {
    const n = Math.sqrt(r.reduce((a, x) => a + x * x, 0));
    return r.map((x) => x / n);
  });
}

const dotv = (a: Vec, b: Vec): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per-anchor per-class masses M_c and positive score for anchor i (z, p already unit rows). */
export function refAnchor(z: Matrix, labels: number[], p: Matrix, tau: number, variant: 'ecl' | 'ecl-mean-vector' | 'bcl', i: number): { masses: number[]; pos: number } {
  const s = (a: Vec, b: Vec): number => dotv(a, b) / tau;
  const C = p.length;
  const masses: number[] = [];
  for (let c = 0; c < C; c++) {
    const members = z.filter((_, k) => k !== i && labels[k] === c);
    const memberExp = members.map((zk) => Math.exp(s(z[i]!, zk)));
    const protoExp = Math.exp(s(z[i]!, p[c]!));
    if (variant === 'ecl') masses.push(members.length ? 0.5 * mean(memberExp) + 0.5 * protoExp : protoExp);
    else if (variant === 'ecl-mean-vector') {
      // zbar_c: the plain mean of the class's other embeddings (not renormalised).
      const zbar = members.length ? members[0]!.map((_, j) => mean(members.map((zk) => zk[j]!))) : [];
      masses.push(members.length ? 0.5 * Math.exp(s(z[i]!, zbar)) + 0.5 * protoExp : protoExp);
    }
    else masses.push(mean([...memberExp, protoExp]));
  }
  const y = labels[i]!;
  const posMembers = z.filter((_, k) => k !== i && labels[k] === y).map((zk) => s(z[i]!, zk));
  const sp = s(z[i]!, p[y]!);
  let pos: number;
  if (variant !== 'bcl') pos = posMembers.length ? 0.5 * mean(posMembers) + 0.5 * sp : sp;
  else pos = mean([...posMembers, sp]);
  return { masses, pos };
}

/** mean_i (log sum_c M_c - pos_i). */
export function refContrastive(z: Matrix, labels: number[], p: Matrix, tau: number, variant: 'ecl' | 'ecl-mean-vector' | 'bcl'): number {
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    const { masses, pos } = refAnchor(z, labels, p, tau, variant, i);
    total += Math.log(masses.reduce((a, b) => a + b, 0)) - pos;
  }
  return total / z.length;
}

/** ||W^ W^T - P P^T||_F^2 / C^2 (W row-normalised here, P used as given). */
export function refCcGram(w: Matrix, p: Matrix): number {
  const wn = normalizeRows(w);
  const C = w.length;
  let s = 0;
  for (let a = 0; a < C; a++) for (let b = 0; b < C; b++) s += (dotv(wn[a]!, wn[b]!) - dotv(p[a]!, p[b]!)) ** 2;
  return s / (C * C);
}

/** ||W/||W||_F - P/||P||_F||_F. */
export function refCcDirect(w: Matrix, p: Matrix): number {
  const fro = (m: Matrix): number => Math.sqrt(m.flat().reduce((a, x) => a + x * x, 0));
  const fw = fro(w);
  const fp = fro(p);
  let s = 0;
  w.forEach((r, i) => r.forEach((x, j) => (s += (x / fw - p[i]![j]! / fp) ** 2)));
  return Math.sqrt(s);
}

/** mean_i -log softmax(logits_i + tauLa log pi)[y_i]. */
export function refLc(logits: Matrix, labels: number[], counts: number[], tauLa: number): number {
  const tot = counts.reduce((a, b) => a + b, 0);
  const shift = counts.map((n) => tauLa * Math.log(Math.max(n, 1) / tot));
  return mean(
    logits.map((r, i) => {
      const a = r.map((x, c) => x + shift[c]!);
      const m = Math.max(...a);
      const lse = m + Math.log(a.reduce((s, x) => s + Math.exp(x - m), 0));
      return lse - a[labels[i]!]!;
    }),
  );
}

/** Deterministic pseudo-random numbers (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomMatrix(rand: () => number, rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rand() * 2 - 1));
}

export function oneHotRows(labels: number[], C: number): Matrix {
  return labels.map((y) => Array.from({ length: C }, (_, c) => (c === y ? 1 : 0)));
}
