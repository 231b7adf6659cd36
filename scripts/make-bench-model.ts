// Writes a freshly initialised (untrained) model of one family as ONNX, for benchmarks that need the same file on
// several runtimes (scripts/gpu-check.sh: `ecl bench-serve --model` on CUDA and the PyTorch peer of
// scripts/torch_infer_bench.py). Weights are seeded, so every run writes the same bytes. Speed does not depend on
// training; the input preprocessing (mean/std) is the one `ecl bench-serve --family` generates.
// Usage: node dist/scripts/make-bench-model.js --family resnet32 --out DIR/model.onnx [--classes 10]
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildOnnxModel } from '../export/export-run.js';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { buildModelSpec, initParams } from '../models/builders.js';
import { MODEL_FAMILIES, type ModelFamily } from '../models/spec.js';

function benchModelBytes(family: ModelFamily, numClasses = 10): Uint8Array {
  const input =
    family === 'cnn28'
      ? { height: 28, width: 28, channels: 1, mean: [0.5], std: [0.25] }
      : { height: 32, width: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const spec = buildModelSpec(family, { numClasses, input });
  return buildOnnxModel(spec, initParams(spec, 1), {}).bytes;
}

function main(): void {
  const { values } = parseArgs({ options: { family: { type: 'string', default: 'resnet32' }, out: { type: 'string' }, classes: { type: 'string', default: '10' } } });
  const family = values.family as ModelFamily;
  if (!(MODEL_FAMILIES as readonly string[]).includes(family)) throw new Error(`--family must be one of ${MODEL_FAMILIES.join(', ')}, got '${values.family}'`);
  if (!values.out) throw new Error('--out PATH.onnx is required');
  const classes = Number(values.classes);
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`--classes must be an integer >= 2, got '${values.classes}'`);
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  const bytes = benchModelBytes(family, classes);
  writeFileAtomic(out, bytes);
  process.stdout.write(`wrote ${out} (${family}, ${classes} classes, ${(bytes.length / 1e6).toFixed(2)} MB, untrained seeded weights)\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`make-bench-model: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
