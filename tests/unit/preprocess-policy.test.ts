// The resize policies of serve/shared/preprocess.ts and where they travel: the centre-crop box, an item
// centred on a wider canvas seen exactly as the plain item, no aliasing when a 4000x3000 photo becomes 32x32,
// the exporter's metadata key and the contract's reader (missing -> 'stretch', unknown -> error).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildMetadata } from '../../export/metadata.js';
import { buildModelSpec } from '../../models/builders.js';
import type { CheckpointMeta } from '../../models/artifacts/checkpoint.js';
import { buildModelInfo, DEFAULT_RESIZE_POLICY, LEGACY_RESIZE_POLICY, OnnxContractError, resizePolicyFromMetadata } from '../../models/onnx-contract.js';
import { PreprocessError, preprocessImage, resizeBox } from '../../serve/shared/preprocess.js';
import { lcg } from '../helpers/image-fixtures.js';

const grey = (w: number, h: number, f: (x: number, y: number) => number) => {
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = f(x, y);
      data.set([v, v, v, 255], (y * w + x) * 4);
    }
  return { width: w, height: h, data };
};

describe('resize policies', () => {
  it('centre-crop box: the shorter side whole, the model aspect, centred (integer box)', () => {
    assert.deepEqual(resizeBox(112, 56, 28, 28, 'center-crop'), { x: 28, y: 0, width: 56, height: 56 });
    assert.deepEqual(resizeBox(56, 112, 28, 28, 'center-crop'), { x: 0, y: 28, width: 56, height: 56 });
    assert.deepEqual(resizeBox(4000, 3000, 32, 32, 'center-crop'), { x: 500, y: 0, width: 3000, height: 3000 });
    assert.deepEqual(resizeBox(45, 23, 32, 32, 'center-crop'), { x: 11, y: 0, width: 23, height: 23 });
    assert.deepEqual(resizeBox(100, 100, 20, 40, 'center-crop'), { x: 25, y: 0, width: 50, height: 100 }); // model 20 high, 40 wide
    assert.deepEqual(resizeBox(45, 23, 32, 32, 'stretch'), { x: 0, y: 0, width: 45, height: 23 });
    assert.throws(() => resizeBox(4, 4, 2, 2, 'squash' as 'stretch'), PreprocessError);
  });

  it("an item centred on a 112x56 canvas with noise bands is, with 'center-crop', exactly the plain item; 'stretch' squashes it", () => {
    const r = lcg(5);
    const item = Uint8Array.from({ length: 28 * 28 }, r);
    // The item at 2x (each pixel a 2x2 block) in the middle of a 112x56 canvas, noise left and right.
    const canvas = grey(112, 56, (x, y) => (x >= 28 && x < 84 ? item[(y >> 1) * 28 + ((x - 28) >> 1)]! : r()));
    const spec = { height: 28, width: 28, channels: 1 as const };
    assert.deepEqual(preprocessImage(canvas, { ...spec, resize: 'center-crop' }), item);
    const squashed = preprocessImage(canvas, { ...spec, resize: 'stretch' });
    assert.ok(squashed.filter((v, i) => v !== item[i]).length > 700, 'stretch sees a different image');
    // The plain item goes through unchanged with either policy.
    const plain = grey(28, 28, (x, y) => item[y * 28 + x]!);
    for (const resize of ['center-crop', 'stretch'] as const) assert.deepEqual(preprocessImage(plain, { ...spec, resize }), item);
  });

  it('no aliasing: a 1-pixel checkerboard 4000x3000 becomes flat grey at 32x32 (area average), in bounded time', () => {
    const board = grey(4000, 3000, (x, y) => ((x + y) & 1 ? 255 : 0));
    for (const resize of ['center-crop', 'stretch'] as const) {
      const t0 = performance.now();
      const out = preprocessImage(board, { height: 32, width: 32, channels: 3, resize });
      const ms = performance.now() - t0;
      assert.ok(out.every((v) => v >= 127 && v <= 128), `${resize}: ${Array.from(new Set(out)).join(',')}`);
      assert.ok(ms < 10_000, `${resize}: ${ms.toFixed(0)} ms`);
    }
    // 4-pixel stripes, where point sampling would pick whole stripes: each output is the exact share of white
    // in its 125-pixel box.
    const stripes = grey(4000, 3000, (x) => ((x >> 2) & 1 ? 255 : 0));
    const out = preprocessImage(stripes, { height: 32, width: 32, channels: 1, resize: 'stretch' });
    for (let x = 0; x < 32; x++) {
      let white = 0;
      for (let s = x * 125; s < (x + 1) * 125; s++) white += (s >> 2) & 1;
      for (let y = 0; y < 32; y++) assert.equal(out[y * 32 + x], Math.round((255 * white) / 125), `column ${x}`);
    }
  });

  it('rejects a bad orientation or policy with PreprocessError', () => {
    const img = grey(4, 4, () => 0);
    assert.throws(() => preprocessImage(img, { height: 2, width: 2, channels: 1, resize: 'stretch', orientation: 0 }), /orientation must be 1\.\.8/);
    assert.throws(() => preprocessImage(img, { height: 2, width: 2, channels: 1, resize: 'fit' as 'stretch' }), /unknown resize policy 'fit'/);
  });
});

describe('the policy in model metadata and ModelInfo', () => {
  const spec = buildModelSpec('cnn28', { numClasses: 3, input: { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.5] } });
  const meta = (config: Record<string, unknown>): CheckpointMeta => ({
    version: 1,
    spec,
    config,
    epoch: 1,
    step: 1,
    backend: 'cpu',
    classNames: ['a', 'b', 'c'],
    classCounts: [3, 2, 1],
    createdAt: new Date(0).toISOString(),
  });
  const md = (config: Record<string, unknown>) => buildMetadata({ meta: meta(config), checkpointSha256: '0'.repeat(64), outputs: ['logits', 'probs'], gitCommit: 'x' });

  it('the exporter writes config.resize, DEFAULT_RESIZE_POLICY when absent, and refuses an unknown one', () => {
    assert.equal(md({ dataset: 'd' }).preprocess_resize, DEFAULT_RESIZE_POLICY);
    assert.equal(md({ resize: 'stretch' }).preprocess_resize, 'stretch');
    assert.equal(md({ resize: 'center-crop' }).preprocess_resize, 'center-crop');
    assert.throws(() => md({ resize: 'letterbox' }), /resize="letterbox", not one of: center-crop, stretch/);
  });

  it('resizePolicyFromMetadata: missing -> legacy stretch; unknown -> a clear error at load (buildModelInfo)', () => {
    assert.equal(resizePolicyFromMetadata({}), LEGACY_RESIZE_POLICY);
    assert.equal(LEGACY_RESIZE_POLICY, 'stretch');
    assert.equal(resizePolicyFromMetadata({ preprocess_resize: 'center-crop' }), 'center-crop');
    assert.throws(() => resizePolicyFromMetadata({ preprocess_resize: 'Center-Crop' }), OnnxContractError);
    const args = (props: Record<string, string>) => ({
      path: 'runs/x/model.onnx',
      props: { input_size: '28x28x1', ...props },
      inputs: [{ name: 'pixels', type: 'uint8', shape: ['N', 28, 28, 1] }],
      outputs: [{ name: 'probs', type: 'float32', shape: ['N', 3] }],
    });
    assert.equal(buildModelInfo(args(md({ resize: 'stretch' }))).resize, 'stretch');
    assert.equal(buildModelInfo(args(md({}))).resize, 'center-crop');
    assert.equal(buildModelInfo(args({})).resize, 'stretch', 'a model exported before the key existed');
    assert.throws(() => buildModelInfo(args({ preprocess_resize: 'fit' })), /runs\/x\/model\.onnx: model metadata preprocess_resize='fit' is not a known resize policy/);
  });
});
