// ECL_WASM_WINOGRAD=0 runs 3x3 stride-1 convolutions and their filter gradients on the direct SIMD kernels
// instead of Winograd F(4x4, 3x3): both are correct convolutions, and the direct one rounds ~10x less (what the
// cnn28 free-running numerics check and the seed-1 gradient cases need, docs/training-speed.md "Numerics").
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../pipeline/backend/select.js';
import { settings } from '../../models/settings.js';
import { rand } from '../helpers/kernel-test-utils.js';

const [N, H, W, C, CO] = [4, 10, 10, 16, 8];
const x = rand([N, H, W, C], 3, 1, 0.5);
const w = rand([3, 3, C, CO], 4, 0.3);
const dy = rand([N, H, W, CO], 5);
const at = (n: number, i: number, j: number, c: number, ch: number) => ((n * H + i) * W + j) * ch + c;

/** Float64 'same' conv and filter gradient: the exact answers both kernels approximate. */
function exact(): { y: Float64Array; dw: Float64Array } {
  const y = new Float64Array(N * H * W * CO);
  const dw = new Float64Array(9 * C * CO);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let ki = 0; ki < 3; ki++)
          for (let kj = 0; kj < 3; kj++) {
            const ii = i + ki - 1;
            const jj = j + kj - 1;
            if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
            for (let c = 0; c < C; c++)
              for (let co = 0; co < CO; co++) {
                const xv = x.data[at(n, ii, jj, c, C)]!;
                y[at(n, i, j, co, CO)]! += xv * w.data[((ki * 3 + kj) * C + c) * CO + co]!;
                dw[((ki * 3 + kj) * C + c) * CO + co]! += xv * dy.data[at(n, i, j, co, CO)]!;
              }
          }
  return { y, dw };
}

function run(winograd: boolean): { y: Float32Array; dw: Float32Array } {
  process.env.ECL_WASM_WINOGRAD = winograd ? '1' : '0';
  return tf.tidy(() => {
    const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
    const y = tf.conv2d(xt, tf.tensor4d(w.data, w.shape as [number, number, number, number]), 1, 'same');
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: tf.tensor4d(dy.data, dy.shape as [number, number, number, number]) }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, CO] } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return { y: y.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

/** max |got - want| / max |want|. */
function err(got: Float32Array, want: Float64Array): number {
  let e = 0;
  let m = 0;
  for (let k = 0; k < want.length; k++) {
    e = Math.max(e, Math.abs(got[k]! - want[k]!));
    m = Math.max(m, Math.abs(want[k]!));
  }
  return e / m;
}

const saved = process.env.ECL_WASM_WINOGRAD;
before(async () => {
  await selectBackend('wasm');
});
after(() => {
  if (saved === undefined) delete process.env.ECL_WASM_WINOGRAD;
  else process.env.ECL_WASM_WINOGRAD = saved;
});

describe('ECL_WASM_WINOGRAD', () => {
  test('on unless set to 0', () => {
    assert.equal(settings.wasmWinograd({}), true);
    assert.equal(settings.wasmWinograd({ ECL_WASM_WINOGRAD: '1' }), true);
    assert.equal(settings.wasmWinograd({ ECL_WASM_WINOGRAD: '0' }), false);
  });
  test('0 switches the 3x3 conv and its filter gradient to the direct kernels: both correct, the direct one closer', () => {
    const want = exact();
    const on = run(true);
    const off = run(false);
    // Another kernel really ran (different rounding) ...
    assert.notDeepEqual(Buffer.from(on.y.buffer), Buffer.from(off.y.buffer));
    assert.notDeepEqual(Buffer.from(on.dw.buffer), Buffer.from(off.dw.buffer));
    // ... both are the convolution ...
    for (const e of [err(on.y, want.y), err(off.y, want.y), err(on.dw, want.dw), err(off.dw, want.dw)]) assert.ok(e < 1e-5, `error ${e}`);
    // ... and the direct forward rounds less than Winograd (measured ~10x on cnn28's conv2 shape).
    assert.ok(err(off.y, want.y) < err(on.y, want.y), `direct ${err(off.y, want.y)} vs Winograd ${err(on.y, want.y)}`);
  });
});
