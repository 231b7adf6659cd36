// BC-ECL and BCL contrastive terms: closed-form 2-class cases, loop references, batch invariance,
// the exp(s - 1/tau) stability shift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { bcEclLoss, bclLoss, contrastivePerAnchor, logClassMasses } from '../../models/losses/contrastive.js';
import { normalizeRows, oneHotRows, randomMatrix, refAnchor, refContrastive, rng, type Matrix } from '../helpers/losses-reference.js';

await tf.setBackend('cpu');

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected} (tol ${tol})`);
}

function t2(m: Matrix): tf.Tensor2D {
  return tf.tensor2d(m);
}

// 1-D unit "vectors" +-1: z = [+1, +1, -1, -1], labels [0, 0, 0, 1], p0 = +1, p1 = -1.
// Anchor 0 (class 0): S_0 = {1, 2} with s = 1/tau, -1/tau; S_1 = {3} with s = -1/tau; s(z0,p0) = 1/tau, s(z0,p1) = -1/tau.
// With E = e^{1/tau}:
//   ECL: M_0 = 1/2 (E + 1/E)/2 + 1/2 E = 3E/4 + 1/(4E);  M_1 = 1/2 (1/E) + 1/2 (1/E) = 1/E
//        pos = 1/2 * 0 + 1/2 * (1/tau)                       => l_0 = log(3E/4 + 5/(4E)) - 1/(2 tau)
//   BCL: M_0 = (E + 1/E + E)/3;  M_1 = (1/E + 1/E)/2 = 1/E
//        pos = (1/tau - 1/tau + 1/tau)/3                     => l_0 = log(2E/3 + 4/(3E)) - 1/(3 tau)
// Anchor 3 (class 1, S_1 empty): S_0 = {0,1,2}, s = -1/tau, -1/tau, +1/tau; s(z3,p0) = -1/tau, s(z3,p1) = 1/tau.
//   ECL: M_0 = 1/2 (2/E + E)/3 + 1/2 (1/E);  M_1 = E (prototype only); pos = 1/tau
//   BCL: M_0 = (2/E + E + 1/E)/4;            M_1 = E;                  pos = 1/tau
const Z1 = [[1], [1], [-1], [-1]];
const Y1 = [0, 0, 0, 1];
const P1 = [[1], [-1]];

for (const tau of [1, 0.5]) {
  test(`closed-form 2-class anchors, tau=${tau}`, () => {
    const E = Math.exp(1 / tau);
    const expected = {
      ecl0: Math.log((3 * E) / 4 + 5 / (4 * E)) - 1 / (2 * tau),
      bcl0: Math.log((2 * E) / 3 + 4 / (3 * E)) - 1 / (3 * tau),
      ecl3: Math.log(0.5 * (2 / E + E) / 3 + 0.5 / E + E) - 1 / tau,
      bcl3: Math.log((3 / E + E) / 4 + E) - 1 / tau,
    };
    tf.tidy(() => {
      const z = t2(Z1);
      const y = t2(oneHotRows(Y1, 2));
      const p = t2(P1);
      const ecl = contrastivePerAnchor(z, y, p, tau, 'ecl').arraySync();
      const bcl = contrastivePerAnchor(z, y, p, tau, 'bcl').arraySync();
      close(ecl[0]!, expected.ecl0, 1e-5, 'ECL anchor 0');
      close(bcl[0]!, expected.bcl0, 1e-5, 'BCL anchor 0');
      close(ecl[3]!, expected.ecl3, 1e-5, 'ECL anchor 3 (empty own class)');
      close(bcl[3]!, expected.bcl3, 1e-5, 'BCL anchor 3 (empty own class)');
      // Masses of anchor 0.
      const mE = tf.exp(logClassMasses(z, y, p, tau, 'ecl')).arraySync();
      const mB = tf.exp(logClassMasses(z, y, p, tau, 'bcl')).arraySync();
      close(mE[0]![0]!, (3 * E) / 4 + 1 / (4 * E), 1e-5, 'ECL M_0 of anchor 0');
      close(mE[0]![1]!, 1 / E, 1e-5, 'ECL M_1 of anchor 0');
      close(mB[0]![0]!, (2 * E + 1 / E) / 3, 1e-5, 'BCL M_0 of anchor 0');
      close(mE[3]![1]!, E, 1e-5, 'ECL M_1 of anchor 3 (prototype only)');
      // The whole loss is the anchor mean, and agrees with the loop reference.
      close(bcEclLoss(z, y, p, tau).arraySync(), refContrastive(Z1, Y1, P1, tau, 'ecl'), 1e-5, 'L_BC');
      close(bclLoss(z, y, p, tau).arraySync(), refContrastive(Z1, Y1, P1, tau, 'bcl'), 1e-5, 'L_BCL');
      close(refContrastive(Z1, Y1, P1, tau, 'ecl'), ecl.reduce((a, b) => a + b, 0) / 4, 1e-5, 'reference vs per-anchor mean');
    });
  });
}

test('2-class 2-D case: ECL and BCL against loop references (per anchor and masses)', () => {
  // B = 3 images, labels [0, 0, 1]; views v2 then v3.
  const rand = rng(7);
  const labels = [0, 0, 1, 0, 0, 1];
  const zs = normalizeRows(randomMatrix(rand, 6, 2));
  const ps = normalizeRows(randomMatrix(rand, 2, 2));
  const tau = 0.3;
  tf.tidy(() => {
    const z = t2(zs);
    const y = t2(oneHotRows(labels, 2));
    const p = t2(ps);
    for (const variant of ['ecl', 'bcl'] as const) {
      const per = contrastivePerAnchor(z, y, p, tau, variant).arraySync();
      const masses = tf.exp(logClassMasses(z, y, p, tau, variant)).arraySync();
      for (let i = 0; i < 6; i++) {
        const r = refAnchor(zs, labels, ps, tau, variant, i);
        close(per[i]!, Math.log(r.masses[0]! + r.masses[1]!) - r.pos, 1e-5, `${variant} anchor ${i}`);
        for (let c = 0; c < 2; c++) close(masses[i]![c]!, r.masses[c]!, 1e-4, `${variant} M_${c} of anchor ${i}`);
      }
    }
  });
});

test('random 4-class batch with an absent class and a singleton class matches the reference', () => {
  const rand = rng(11);
  const labels = [0, 0, 0, 2, 1, 0, 0, 0, 2, 1, 0, 0]; // class 3 absent; classes 1, 2 have 2 views each
  const zs = normalizeRows(randomMatrix(rand, labels.length, 5));
  const ps = normalizeRows(randomMatrix(rand, 4, 5));
  tf.tidy(() => {
    const z = t2(zs);
    const y = t2(oneHotRows(labels, 4));
    const p = t2(ps);
    for (const tau of [0.07, 0.2, 1]) {
      close(bcEclLoss(z, y, p, tau).arraySync(), refContrastive(zs, labels, ps, tau, 'ecl'), 1e-4, `ECL tau=${tau}`);
      close(bclLoss(z, y, p, tau).arraySync(), refContrastive(zs, labels, ps, tau, 'bcl'), 1e-4, `BCL tau=${tau}`);
    }
  });
});

test('stability shift: tau = 0.01 (e^{1/tau} overflows float32) still matches the float64 reference', () => {
  const rand = rng(3);
  const labels = [0, 1, 1, 0, 1, 1];
  const zs = normalizeRows(randomMatrix(rand, 6, 3));
  const ps = normalizeRows(randomMatrix(rand, 2, 3));
  const tau = 0.01;
  assert.equal(Math.fround(Math.exp(1 / tau)), Infinity); // the unshifted computation would overflow
  tf.tidy(() => {
    const z = t2(zs);
    const y = t2(oneHotRows(labels, 2));
    const p = t2(ps);
    const ecl = bcEclLoss(z, y, p, tau).arraySync();
    const bcl = bclLoss(z, y, p, tau).arraySync();
    assert.ok(Number.isFinite(ecl) && Number.isFinite(bcl));
    // Values are O(1/tau) = O(100); float32 similarities carry ~1e-7 * 100 absolute error each.
    close(ecl, refContrastive(zs, labels, ps, tau, 'ecl'), 1e-4, 'ECL tau=0.01');
    close(bcl, refContrastive(zs, labels, ps, tau, 'bcl'), 1e-4, 'BCL tau=0.01');
    // Individual masses are stored as e^{-1/tau} M_c in float32, so a mass below e^{1/tau - 87} underflows
    // (its log is -Infinity) without harming D_i; all others match the float64 log masses.
    const logM = logClassMasses(z, y, p, tau, 'ecl').arraySync();
    let checked = 0;
    for (let i = 0; i < labels.length; i++) {
      const r = refAnchor(zs, labels, ps, tau, 'ecl', i);
      for (let c = 0; c < 2; c++) {
        const ref = Math.log(r.masses[c]!);
        if (ref - 1 / tau < -80) continue;
        close(logM[i]![c]!, ref, 1e-4, `log M_${c} of anchor ${i}`);
        checked++;
      }
    }
    assert.ok(checked >= labels.length, 'each anchor has at least one representable mass');
  });
});

test('batch invariance: duplicating one class leaves its ECL mass unchanged and changes its BCL mass', () => {
  const rand = rng(21);
  const labels = [0, 1, 1, 2, 0, 1, 1, 2, 0];
  const zs = normalizeRows(randomMatrix(rand, labels.length, 4));
  const ps = normalizeRows(randomMatrix(rand, 3, 4));
  // Duplicate every class-1 sample once (the duplicates are appended).
  const dupIdx = labels.flatMap((y, i) => (y === 1 ? [i] : []));
  const zs2 = [...zs, ...dupIdx.map((i) => zs[i]!)];
  const labels2 = [...labels, ...dupIdx.map(() => 1)];
  const tau = 0.2;
  const masses = (zz: Matrix, ll: number[], variant: 'ecl' | 'bcl'): number[][] =>
    tf.tidy(() => tf.exp(logClassMasses(t2(zz), t2(oneHotRows(ll, 3)), t2(ps), tau, variant)).arraySync());
  const e1 = masses(zs, labels, 'ecl');
  const e2 = masses(zs2, labels2, 'ecl');
  const b1 = masses(zs, labels, 'bcl');
  const b2 = masses(zs2, labels2, 'bcl');
  let bclChanged = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) continue; // anchors of other classes only (a class-1 anchor would gain its own copy)
    close(e2[i]![1]!, e1[i]![1]!, 1e-5, `ECL M_1 of anchor ${i}`);
    // The other classes' masses do not change either.
    close(e2[i]![0]!, e1[i]![0]!, 1e-5, `ECL M_0 of anchor ${i}`);
    close(e2[i]![2]!, e1[i]![2]!, 1e-5, `ECL M_2 of anchor ${i}`);
    if (Math.abs(b2[i]![1]! - b1[i]![1]!) > 1e-3 * b1[i]![1]!) bclChanged++;
    // Exact BCL prediction: n members with sum S and prototype e_p -> (S + e_p)/(n+1) becomes (2S + e_p)/(2n+1).
    const r = refAnchor(zs2, labels2, ps, tau, 'bcl', i);
    close(b2[i]![1]!, r.masses[1]!, 1e-4, `BCL M_1 of anchor ${i} after duplication`);
  }
  assert.equal(bclChanged, labels.filter((y) => y !== 1).length, 'BCL class-1 mass should change for every other-class anchor');
});

test('no tensors leak', () => {
  const rand = rng(5);
  const labels = [0, 1, 0, 1];
  const zs = normalizeRows(randomMatrix(rand, 4, 3));
  const ps = normalizeRows(randomMatrix(rand, 2, 3));
  const z = t2(zs);
  const y = t2(oneHotRows(labels, 2));
  const p = t2(ps);
  const before = tf.memory().numTensors;
  const outs = [bcEclLoss(z, y, p, 0.1), bclLoss(z, y, p, 0.1), logClassMasses(z, y, p, 0.1, 'ecl'), contrastivePerAnchor(z, y, p, 0.1, 'bcl')];
  assert.equal(tf.memory().numTensors, before + outs.length);
  tf.dispose([...outs, z, y, p]);
});

test('shape errors are reported', () => {
  tf.tidy(() => {
    const z = tf.ones([4, 3]) as tf.Tensor2D;
    assert.throws(() => bcEclLoss(z, tf.ones([3, 2]) as tf.Tensor2D, tf.ones([2, 3]) as tf.Tensor2D, 0.1), /labels have 3 rows/);
    assert.throws(() => bcEclLoss(z, tf.ones([4, 2]) as tf.Tensor2D, tf.ones([2, 5]) as tf.Tensor2D, 0.1), /dimension 5/);
    assert.throws(() => bcEclLoss(z, tf.ones([4, 2]) as tf.Tensor2D, tf.ones([2, 3]) as tf.Tensor2D, 0), /temperature/);
  });
});
