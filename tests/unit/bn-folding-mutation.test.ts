// BatchNorm folding (export/bn-folding.ts) on hand-computed numbers: the affine map of an inference-mode BN, its
// folding into a conv (OIHW, output axis 0) and a dense layer ([in, out], output axis 1), with and without a bias,
// and the errors that name the layer, the parameter and the channel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchNormAffine, foldAffineInto } from '../../export/bn-folding.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const close = (got: ArrayLike<number>, want: number[], what: string) => {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-12 * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
};

// gamma (2, 1, -3), beta (1, -1, 0.5), mean (3, 0, -1), var (3, 0.5, 0), eps 1:
// scale = gamma / sqrt(var + eps) = (2/2, 1/sqrt(1.5), -3/1) = (1, 0.8164..., -3)
// shift = beta - mean * scale = (1 - 3, -1 - 0, 0.5 - 3) = (-2, -1, -2.5)
const BN = { gamma: f32([2, 1, -3]), beta: f32([1, -1, 0.5]), movingMean: f32([3, 0, -1]), movingVariance: f32([3, 0.5, 0]), epsilon: 1 };
const SCALE = [1, 1 / Math.sqrt(1.5), -3];
const SHIFT = [-2, -1, -2.5];

describe('batchNormAffine', () => {
  test('scale = gamma / sqrt(var + eps), shift = beta - mean * scale', () => {
    const a = batchNormAffine(BN);
    close(a.scale, SCALE, 'scale');
    close(a.shift, SHIFT, 'shift');
    assert.ok(a.scale instanceof Float64Array && a.shift instanceof Float64Array, 'float64');
  });

  test('a channel count that differs from gamma is named with the parameter and the layer', () => {
    for (const k of ['beta', 'movingMean', 'movingVariance'] as const)
      assert.throws(() => batchNormAffine({ ...BN, [k]: f32([1, 2]) }, 'res1_bn'), { message: `batchnorm res1_bn: ${k} has 2 channels, gamma has 3` });
    assert.throws(() => batchNormAffine({ ...BN, beta: f32([1, 2, 3, 4]) }), { message: 'batchnorm batchnorm: beta has 4 channels, gamma has 3' });
  });

  test('variance + epsilon must be positive (zero, negative and NaN are refused)', () => {
    assert.throws(() => batchNormAffine({ ...BN, epsilon: 0 }, 'b1'), { message: 'batchnorm b1: movingVariance[2] + epsilon = 0 is not positive' });
    assert.throws(() => batchNormAffine({ ...BN, movingVariance: f32([3, -2, 0]) }, 'b1'), { message: 'batchnorm b1: movingVariance[1] + epsilon = -1 is not positive' });
    assert.throws(() => batchNormAffine({ ...BN, movingVariance: f32([NaN, 1, 1]) }, 'b1'), /movingVariance\[0\] \+ epsilon = NaN is not positive/);
  });
});

describe('foldAffineInto', () => {
  const aff = { scale: Float64Array.from(SCALE), shift: Float64Array.from(SHIFT) };

  /** y = W x + b for W [out, in] (row-major), then the BN: the result folding must reproduce. */
  const linearThenBn = (w: number[][], b: number[], x: number[]) => w.map((row, o) => (row.reduce((s, v, j) => s + v * x[j]!, 0) + b[o]!) * SCALE[o]! + SHIFT[o]!);

  test('conv, output axis 0: each output channel block scaled by its own factor; a missing bias becomes the shift', () => {
    // 3 output channels x 2 weights each (OIHW flattened).
    const lin = { weight: Float64Array.from([1, 2, 3, 4, 5, 6]), outChannels: 3, outAxis: 0 as const, bias: null };
    foldAffineInto(lin, aff);
    close(lin.weight, [1, 2, 3 * SCALE[1]!, 4 * SCALE[1]!, -15, -18], 'W * scale');
    close(lin.bias!, SHIFT, 'b = shift');
    // Same as conv then BN on an input.
    const x = [0.5, -2];
    const folded = [0, 1, 2].map((o) => lin.weight[2 * o]! * x[0]! + lin.weight[2 * o + 1]! * x[1]! + lin.bias![o]!);
    close(folded, linearThenBn([[1, 2], [3, 4], [5, 6]], [0, 0, 0], x), 'folded = conv then BN');
  });

  test('dense, output axis 1 ([in, out]): column o scaled by scale[o]; an existing bias is scaled and shifted', () => {
    // in = 2, out = 3: weight [[1, 2, 3], [4, 5, 6]] row-major.
    const lin = { weight: Float64Array.from([1, 2, 3, 4, 5, 6]), outChannels: 3, outAxis: 1 as const, bias: Float64Array.from([10, 20, 30]) };
    foldAffineInto(lin, aff, 'fc_bn');
    close(lin.weight, [1, 2 * SCALE[1]!, -9, 4, 5 * SCALE[1]!, -18], 'W * scale per column');
    close(lin.bias!, [10 - 2, 20 * SCALE[1]! - 1, -90 - 2.5], 'b * scale + shift');
    const x = [0.5, -2];
    const folded = [0, 1, 2].map((o) => lin.weight[o]! * x[0]! + lin.weight[3 + o]! * x[1]! + lin.bias![o]!);
    // W as [out, in] for the reference: column o of [in, out].
    close(folded, linearThenBn([[1, 4], [2, 5], [3, 6]], [10, 20, 30], x), 'folded = dense then BN');
  });

  test('the bias array given is updated in place (the op keeps its buffer)', () => {
    const bias = Float64Array.from([1, 1, 1]);
    const lin = { weight: Float64Array.from([1, 1, 1]), outChannels: 3, outAxis: 0 as const, bias };
    foldAffineInto(lin, aff);
    assert.equal(lin.bias, bias);
    close(bias, [1 - 2, SCALE[1]! - 1, -3 - 2.5], 'in place');
  });

  test('a channel count that differs from the op is refused, naming the layer', () => {
    const lin = { weight: new Float64Array(4), outChannels: 2, outAxis: 1 as const, bias: null };
    assert.throws(() => foldAffineInto(lin, aff, 'proj_bn'), { message: 'batchnorm proj_bn: 3 channels, preceding op has 2 outputs' });
    assert.throws(() => foldAffineInto(lin, aff), { message: 'batchnorm batchnorm: 3 channels, preceding op has 2 outputs' });
  });
});
