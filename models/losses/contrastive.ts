// The contrastive and geometry terms of ECL (arXiv 2602.09506) and of the BCL baseline (Zhu et al. 2022).
// See docs/ECL.md for the equations.
//
// Shapes: N = 2B anchors (the embeddings of views v2 then v3), C classes, k embedding dimensions.
//   z [N, k]  L2-normalised embeddings (anchors and keys)
//   y [N, C]  one-hot labels of z
//   p [C, k]  L2-normalised prototypes (keys only, never anchors)
// Every op here has a gradient on the tfjs cpu and wasm backends: no gather, no boolean masks; class
// masks are built from the one-hot labels with matMul and the counts with sums.
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize } from '../forward.js';

/**
 * Which class-mass rule the denominator uses:
 *  - 'ecl': M_c = 1/2 mean_{k in S_c} e^{s(z_i,z_k)} + 1/2 e^{s(z_i,p_c)} (the implemented reading of BC-ECL);
 *  - 'ecl-mean-vector': M_c = 1/2 e^{s(z_i, zbar_c)} + 1/2 e^{s(z_i,p_c)}, zbar_c the mean of the class's other
 *    embeddings (the second reading: the class-average feature as the mean vector); an absent class weighs its
 *    prototype 1 in both; the positive is the same (s is linear in its second argument);
 *  - 'bcl': the prototype as one more class member (Zhu et al. 2022).
 */
export type ContrastiveVariant = 'ecl' | 'ecl-mean-vector' | 'bcl';

interface Pieces {
  /**
   * The stability shift m_i, [N, 1]: anchor i's largest score over its keys (the other embeddings and the
   * prototypes). A fixed 1/tau underflowed: at tau = 0.005 an anchor whose best score is 0.3/tau has every
   * exp(s - 1/tau) <= e^-140, zero in float32, so log D was -Inf and the loss NaN.
   */
  shift: tf.Tensor2D;
  /** exp(s(z_i, z_k) - m_i) summed over k != i with y_k = c, [N, C]. */
  sumExp: tf.Tensor2D;
  /** |S_c| for anchor i: number of k != i with y_k = c, [N, C]. */
  count: tf.Tensor2D;
  /** exp(s(z_i, p_c) - m_i), [N, C]. */
  protoExp: tf.Tensor2D;
  /** s(z_i, p_c), [N, C]. */
  protoSim: tf.Tensor2D;
  /** Sum over k != i with y_k = c of s(z_i, z_k), [N, C]. */
  simSum: tf.Tensor2D;
  /** Sum over k in S_{y_i} of s(z_i, z_k), [N]. */
  posSimSum: tf.Tensor1D;
  /** |S_{y_i}|, [N]. */
  posCount: tf.Tensor1D;
  /** s(z_i, p_{y_i}), [N]. */
  posProtoSim: tf.Tensor1D;
}

function checkShapes(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number): void {
  const [n, k] = z.shape;
  if (y.shape[0] !== n) throw new Error(`contrastive loss: labels have ${y.shape[0]} rows but embeddings have ${n}`);
  if (p.shape[1] !== k) throw new Error(`contrastive loss: prototypes have dimension ${p.shape[1]} but embeddings have ${k}`);
  if (p.shape[0] !== y.shape[1]) throw new Error(`contrastive loss: ${p.shape[0]} prototypes but labels have ${y.shape[1]} classes`);
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`contrastive loss: temperature must be a positive finite number, got ${tau}`);
}

/**
 * m_i = max(max_k sOthers_ik, max_c sp_ic), [N, 1], as a constant of the gradient. Every use of m cancels
 * (log D_i = m_i + log sum_c M~_c with every M~_c scaled by e^{-m_i}: d/dm = 1 - 1 = 0), so the gradient
 * through max was rounding noise that cost tfjs's broadcast Equal mask (~9 ms of a cnn28 ECL step on wasm).
 */
const stabilityShift = tf.customGrad((sOthers, sp) => ({
  value: tf.maximum(tf.max(sOthers as tf.Tensor, 1, true), tf.max(sp as tf.Tensor, 1, true)),
  gradFunc: () => [tf.zerosLike(sOthers as tf.Tensor), tf.zerosLike(sp as tf.Tensor)],
}));

/** Shared masked sums. Call inside tf.tidy. */
function pieces(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number): Pieces {
  checkShapes(z, y, p, tau);
  const n = z.shape[0];
  const invTau = tf.scalar(1 / tau);
  const s = tf.mul(tf.matMul(z, z, false, true), invTau) as tf.Tensor2D; // [N, N]
  const sp = tf.mul(tf.matMul(z, p, false, true), invTau) as tf.Tensor2D; // [N, C]
  const eye = tf.eye(n);
  const notSelf = tf.sub(tf.onesLike(s), eye) as tf.Tensor2D; // 1 - I
  const sameClass = tf.mul(tf.matMul(y, y, false, true), notSelf) as tf.Tensor2D; // Y Y^T - I (y rows are one-hot)
  // m_i = max(max_{k != i} s_ik, max_c s(z_i, p_c)); the self score is pushed down by 2/tau (scores are in
  // [-1/tau, 1/tau]) so it never wins. Every exponent below is then <= 0 and the largest is exactly 0.
  const sOthers = tf.sub(s, tf.mul(eye, tf.scalar(2 / tau)));
  const shift = stabilityShift(sOthers, sp) as tf.Tensor2D; // [N, 1]
  // exp of the self-excluded scores: exp(s_ii - m_i) itself could overflow to Inf, and Inf * 0 is NaN.
  const e = tf.mul(tf.exp(tf.sub(sOthers, shift)), notSelf) as tf.Tensor2D; // self excluded
  const sumExp = tf.matMul(e, y) as tf.Tensor2D; // [N, C]
  const count = tf.sub(tf.sum(y, 0, true), y) as tf.Tensor2D; // colsum(Y) - own one-hot
  const protoExp = tf.exp(tf.sub(sp, shift)) as tf.Tensor2D;
  const simSum = tf.matMul(tf.mul(s, notSelf), y) as tf.Tensor2D; // [N, C]
  const posSimSum = tf.sum(tf.mul(sameClass, s), 1) as tf.Tensor1D;
  const posCount = tf.sum(sameClass, 1) as tf.Tensor1D;
  const posProtoSim = tf.sum(tf.mul(y, sp), 1) as tf.Tensor1D;
  return { shift, sumExp, count, protoExp, protoSim: sp, simSum, posSimSum, posCount, posProtoSim };
}

/** Class masses M_c scaled by exp(-m_i), [N, C], and the positive score pos_i, [N]. */
function massesAndPositives(pc: Pieces, variant: ContrastiveVariant): { scaledMass: tf.Tensor2D; pos: tf.Tensor1D } {
  const one = tf.scalar(1);
  const half = tf.scalar(0.5);
  if (variant === 'ecl' || variant === 'ecl-mean-vector') {
    // M_c = 1/2 mean_{S_c} e^s + 1/2 e^{s(z,p_c)}  if S_c non-empty, else e^{s(z,p_c)}; the mean-vector reading
    // takes e^{mean_{S_c} s} = e^{s(z, zbar_c)} instead of the mean of the exponentials (mean s <= m_i: no overflow).
    const has = tf.minimum(pc.count, one); // 1 where S_c non-empty (counts are integers)
    const meanExp =
      variant === 'ecl' ? tf.div(pc.sumExp, tf.maximum(pc.count, one)) : tf.mul(has, tf.exp(tf.sub(tf.div(pc.simSum, tf.maximum(pc.count, one)), pc.shift)));
    const scaledMass = tf.add(pc.protoExp, tf.mul(tf.mul(has, half), tf.sub(meanExp, pc.protoExp))) as tf.Tensor2D;
    const hasPos = tf.minimum(pc.posCount, one);
    const meanPos = tf.div(pc.posSimSum, tf.maximum(pc.posCount, one));
    const pos = tf.add(pc.posProtoSim, tf.mul(tf.mul(hasPos, half), tf.sub(meanPos, pc.posProtoSim))) as tf.Tensor1D;
    return { scaledMass, pos };
  }
  // BCL: the prototype is one more member of its class. M_c = (sum_{S_c} e^s + e^{s(z,p_c)}) / (|S_c| + 1).
  const scaledMass = tf.div(tf.add(pc.sumExp, pc.protoExp), tf.add(pc.count, one)) as tf.Tensor2D;
  const pos = tf.div(tf.add(pc.posSimSum, pc.posProtoSim), tf.add(pc.posCount, one)) as tf.Tensor1D;
  return { scaledMass, pos };
}

/**
 * log M_c for every anchor i and class c, [N, C] (the per-anchor per-class masses of the denominator
 * D_i = sum_c M_c, in log space so that small temperatures cannot overflow). Exposed for tests.
 */
export function logClassMasses(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number, variant: ContrastiveVariant): tf.Tensor2D {
  return tf.tidy(() => {
    const pc = pieces(z, y, p, tau);
    const { scaledMass } = massesAndPositives(pc, variant);
    return tf.add(tf.log(scaledMass), pc.shift) as tf.Tensor2D;
  });
}

/**
 * Per-anchor contrastive loss log D_i - pos_i, [N].
 * Stability: every exponent is s - m_i <= 0 with the largest 0, so D is computed as e^{m_i} * D~ and
 * log D_i = m_i + log D~_i (D~ >= a positive term, never 0); pos_i is a plain (unshifted) similarity.
 */
export function contrastivePerAnchor(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number, variant: ContrastiveVariant): tf.Tensor1D {
  return tf.tidy(() => {
    const pc = pieces(z, y, p, tau);
    const { scaledMass, pos } = massesAndPositives(pc, variant);
    const logD = tf.add(tf.log(tf.sum(scaledMass, 1)), tf.squeeze(pc.shift, [1]));
    return tf.sub(logD, pos) as tf.Tensor1D;
  });
}

/** L_BC (ECL's balanced contrastive term): mean_i (log D_i - pos_i) with ECL class masses. */
export function bcEclLoss(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => tf.mean(contrastivePerAnchor(z, y, p, tau, 'ecl')) as tf.Scalar);
}

/** L_BC with the mean-vector reading of ECL's class masses (see ContrastiveVariant). */
export function bcEclMeanVectorLoss(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => tf.mean(contrastivePerAnchor(z, y, p, tau, 'ecl-mean-vector')) as tf.Scalar);
}

/** L_BCL (Zhu et al. 2022): class-averaged denominator with the prototype as one more class member. */
export function bclLoss(z: tf.Tensor2D, y: tf.Tensor2D, p: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => tf.mean(contrastivePerAnchor(z, y, p, tau, 'bcl')) as tf.Scalar);
}

/** How CC-GE compares the classifier with the prototypes. */
export type CcForm = 'gram' | 'direct';

/**
 * L_CC (classifier-centre geometry alignment).
 *  - 'gram' (default): || W^ W^T - P P^T ||_F^2 / C^2, W^ = row-normalised W, P as given (already normalised).
 *  - 'direct' (needs d = k): || W/||W||_F - P/||P||_F ||_F. A 1e-12 is added under the square root so the
 *    gradient stays finite when the two are equal (changes the value by at most 1e-6).
 */
export function ccGeLoss(w: tf.Tensor2D, p: tf.Tensor2D, form: CcForm = 'gram'): tf.Scalar {
  const [c, d] = w.shape;
  if (p.shape[0] !== c) throw new Error(`CC-GE: classifier has ${c} rows but there are ${p.shape[0]} prototypes`);
  if (form === 'direct' && p.shape[1] !== d) {
    throw new Error(`CC-GE direct form needs d = k, but the classifier has d = ${d} and the prototypes k = ${p.shape[1]}`);
  }
  return tf.tidy(() => {
    if (form === 'gram') {
      const wn = l2Normalize(w) as tf.Tensor2D;
      const diff = tf.sub(tf.matMul(wn, wn, false, true), tf.matMul(p, p, false, true));
      return tf.div(tf.sum(tf.square(diff)), tf.scalar(c * c)) as tf.Scalar;
    }
    const wf = tf.div(w, tf.sqrt(tf.sum(tf.square(w))));
    const pf = tf.div(p, tf.sqrt(tf.sum(tf.square(p))));
    return tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(wf, pf))), tf.scalar(1e-12))) as tf.Scalar;
  });
}
