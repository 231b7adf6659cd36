// Batch normalisation over all axes but the last (NHWC or NC).
import * as tf from '@tensorflow/tfjs-core';
/**
 * Training-mode BN with batch statistics (biased variance, as in the forward pass of PyTorch/Keras).
 *
 * y has a hand-written gradient (tf.customGrad) built from per-channel reductions. With
 * xc = x - mean, s = rsqrt(var + eps), n = elements per channel:
 *   dbeta  = sum(dy)            dgamma = s * sum(dy * xc)
 *   dx     = gamma * s * dy  -  (gamma * s / n) * (dbeta + xc * s * dgamma)
 * Every full-size step is either a same-shape elementwise op or tf.batchNorm (a per-channel affine
 * map, one fused kernel on every backend); per-channel vectors are only ever broadcast, never tiled.
 * Backward: one multiply, two reductions, two batchNorm passes and one add. mean/variance are
 * returned for running-stat updates only; no gradient flows through them.
 */
export function batchNormTraining(x, gamma, beta, epsilon) {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const channels = x.shape[x.rank - 1];
    const n = x.size / channels;
    const mean = tf.mean(x, axes);
    const zero = tf.zerosLike(mean);
    const one = tf.onesLike(mean);
    // xc = x - mean as a per-channel affine map (same kernel as the normalisation itself). Offset and
    // scale are always passed: tfjs's own FusedBatchNorm gradient config saves them unconditionally.
    const xc = tf.batchNorm(x, mean, one, zero, one, 0);
    const variance = tf.mean(tf.mul(xc, xc), axes);
    // Only x, gamma, beta are inputs of the custom op, so the gradient never flows into mean/variance.
    // xc/variance/zero exist before the op runs: saving them allocates no new backend buffers.
    const bn = tf.customGrad((xIn, gIn, bIn, save) => {
        save([xc, gIn, variance, zero]);
        const value = tf.batchNorm(xc, zero, variance, bIn, gIn, epsilon);
        const gradFunc = (dy, saved) => {
            const [xcs, g, v, z] = saved;
            const invStd = tf.rsqrt(tf.add(v, epsilon));
            const dbeta = tf.sum(dy, axes);
            const dgamma = tf.mul(tf.sum(tf.mul(dy, xcs), axes), invStd);
            const c = tf.mul(tf.mul(g, invStd), -1 / n);
            // u = c * (dbeta + xc * s * dgamma)
            const u = tf.batchNorm(xcs, z, v, tf.mul(c, dbeta), tf.mul(c, dgamma), epsilon);
            // gamma * s * dy
            const scaled = tf.batchNorm(dy, z, v, z, g, epsilon);
            return [tf.add(scaled, u), dgamma, dbeta];
        };
        return { value, gradFunc };
    });
    const y = bn(x, gamma, beta);
    return { y, mean, variance };
}
export function batchNormInference(x, movingMean, movingVariance, gamma, beta, epsilon) {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(movingVariance, epsilon)));
    return tf.add(tf.mul(tf.sub(x, movingMean), scale), beta);
}
//# sourceMappingURL=batchnorm.js.map