// Reference outputs for checking another implementation of an exported model (scripts/torch_infer_bench.py
// --check): COUNT images of seeded random pixels and onnxruntime-node's logits on them.
// Writes DIR/input.u8 (uint8 NHWC), DIR/logits.f32 (float32 little-endian, COUNT x classes) and DIR/meta.json.
// Usage: node dist/scripts/ort-reference.js --model M.onnx --out DIR [--count 8] [--ep cpu]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { inputSpecFromMetadata, OUTPUT_LOGITS } from '../models/onnx-contract.js';
import { createSession, loadOrt, parseEpChoice } from '../serve/node/ep.js';
import { readModelMetadataProps } from '../serve/node/model-info.js';

/** xorshift32 bytes: the same pixels for the same seed on every machine. */
function seededPixels(n: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const a = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = s & 0xff;
  }
  return a;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, out: { type: 'string' }, count: { type: 'string', default: '8' }, ep: { type: 'string', default: 'cpu' } } });
  if (!values.model || !values.out) throw new Error('usage: ort-reference --model M.onnx --out DIR [--count 8] [--ep cpu]');
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got '${values.count}'`);
  const model = resolve(values.model);
  const spec = inputSpecFromMetadata(readModelMetadataProps(model));
  const shape = [count, spec.height, spec.width, spec.channels];
  const pixels = seededPixels(shape.reduce((a, b) => a * b, 1), 12345);
  const ort = await loadOrt();
  const { session, ep } = await createSession(model, { ep: parseEpChoice(values.ep) });
  try {
    const out = await session.run({ [spec.name]: new ort.Tensor('uint8', pixels, shape) });
    const logits = out[OUTPUT_LOGITS]?.data;
    if (!(logits instanceof Float32Array)) throw new Error(`the model has no float32 '${OUTPUT_LOGITS}' output`);
    const dir = resolve(values.out);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, 'input.u8'), pixels);
    writeFileAtomic(join(dir, 'logits.f32'), new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    const meta = { model, inputName: spec.name, inputShape: shape, classes: logits.length / count, ep, seed: 12345 };
    writeFileAtomic(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    process.stdout.write(`wrote ${dir}/{input.u8,logits.f32,meta.json}: ${count} images through onnxruntime-node ${ep}\n`);
  } finally {
    await session.release();
  }
}

main().catch((e) => {
  process.stderr.write(`ort-reference: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
