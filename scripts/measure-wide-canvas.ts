// Served accuracy on plain Fashion-MNIST test items vs the same items centred on a 112x56 canvas with noise
// bands left and right, through the server's own decode + preprocessing (serve/node/classify.ts) and
// onnxruntime-node, under both resize policies. With 'center-crop' the wide canvas should be seen like the
// plain item; with 'stretch' (the legacy behaviour) it is squashed.
//   node dist/scripts/measure-wide-canvas.js runs/<name>/model.onnx [--n 1000]
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadDataset } from '../pipeline/data/registry.js';
import { decodeImage, uploadPixels } from '../serve/node/classify.js';
import { readModelMetadataProps } from '../serve/node/model-info.js';
import { inputSpecFromMetadata, resizePolicyFromMetadata, type ResizePolicy } from '../models/onnx-contract.js';

const modelPath = process.argv[2];
if (!modelPath) {
  console.error('usage: measure-wide-canvas <model.onnx> [--n N]');
  process.exit(2);
}
const nArg = process.argv.indexOf('--n');
const props = readModelMetadataProps(modelPath);
const input = inputSpecFromMetadata(props);
const data = await loadDataset('embedded', { imbalance: 100, seed: 1 });
const n = Math.min(data.test.count, nArg > 0 ? Number(process.argv[nArg + 1]) : data.test.count);
const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });

let seed = 12345;
const noise = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24;

/** One item as a 28x28 grey PNG, and centred at 2x (lanczos3) on a 112x56 canvas of noise. */
async function encode(px: Uint8Array): Promise<{ plain: Buffer; wide: Buffer }> {
  const item = sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } });
  const plain = await item.clone().png().toBuffer();
  const big = await item.clone().resize(56, 56, { kernel: 'lanczos3' }).extractChannel(0).raw().toBuffer();
  const canvas = Buffer.from(Uint8Array.from({ length: 112 * 56 }, noise));
  for (let y = 0; y < 56; y++) big.copy(canvas, y * 112 + 28, y * 56, (y + 1) * 56);
  const wide = await sharp(canvas, { raw: { width: 112, height: 56, channels: 1 } }).png().toBuffer();
  return { plain, wide };
}

const per = input.height * input.width * input.channels;
const files: Array<{ plain: Buffer; wide: Buffer }> = [];
for (let i = 0; i < n; i++) files.push(await encode(data.test.images.subarray(i * 784, (i + 1) * 784)));

async function accuracy(which: 'plain' | 'wide', resize: ResizePolicy): Promise<number> {
  let correct = 0;
  for (let s = 0; s < n; s += 100) {
    const e = Math.min(n, s + 100);
    const px = new Uint8Array((e - s) * per);
    for (let i = s; i < e; i++) px.set(uploadPixels(await decodeImage(files[i]![which], 1e7), { input, resize }), (i - s) * per);
    const out = await session.run({ [input.name]: new ort.Tensor('uint8', px, [e - s, input.height, input.width, input.channels]) });
    const logits = out.logits!.data as Float32Array;
    const C = logits.length / (e - s);
    for (let i = s; i < e; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[(i - s) * C + c]! > logits[(i - s) * C + best]!) best = c;
      if (best === data.test.labels[i]) correct++;
    }
  }
  return (100 * correct) / n;
}

const result: Record<string, unknown> = { model: modelPath, declared: resizePolicyFromMetadata(props), images: n };
for (const resize of ['center-crop', 'stretch'] as const) {
  const plain = await accuracy('plain', resize);
  const wide = await accuracy('wide', resize);
  result[resize] = { plain: Number(plain.toFixed(2)), wide: Number(wide.toFixed(2)), gap: Number((plain - wide).toFixed(2)) };
}
console.log(JSON.stringify(result, null, 2));
await session.release();
