// Writes a few real Fashion-MNIST test images of the shipped embedded subset as PNG files, one per class,
// for the curl example of `make demo` / `make serve` (pipeline/data/embedded/samples/<class>.png), plus
// samples.json (file -> class and index in the embedded test split) so a test can check them pixel for pixel.
// Usage: node dist/scripts/make-sample-images.js [--out DIR]
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../models/artifacts/atomic-write.js';
import { readIdxImageSet } from '../pipeline/data/idx.js';
import { embeddedDir, FASHION_MNIST_CLASS_NAMES, type EmbeddedManifest } from '../pipeline/data/registry.js';

export interface SampleEntry {
  file: string;
  label: number;
  className: string;
  /** Index of the image in the embedded test split. */
  testIndex: number;
}

/** 'T-shirt/top' -> 't-shirt-top'. */
export const sampleFileName = (className: string) => `${className.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.png`;

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const dir = embeddedDir();
  const out = i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : join(dir, 'samples');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as EmbeddedManifest;
  const t = manifest.splits.test;
  const test = await readIdxImageSet(join(dir, t.images), join(dir, t.labels), FASHION_MNIST_CLASS_NAMES);
  mkdirSync(out, { recursive: true });
  const entries: SampleEntry[] = [];
  const px = test.height * test.width * test.channels;
  // The first test image of each class (the split is stored grouped by class).
  for (let c = 0; c < test.classNames.length; c++) {
    const idx = test.labels.findIndex((l) => l === c);
    if (idx < 0) continue;
    const file = sampleFileName(test.classNames[c]!);
    const png = await sharp(Buffer.from(test.images.subarray(idx * px, (idx + 1) * px)), { raw: { width: test.width, height: test.height, channels: test.channels as 1 } })
      .toColourspace('b-w')
      .png({ compressionLevel: 9 })
      .toBuffer();
    writeFileAtomic(join(out, file), png);
    entries.push({ file, label: c, className: test.classNames[c]!, testIndex: idx });
  }
  writeFileAtomic(join(out, 'samples.json'), JSON.stringify({ source: 'embedded test split (real Fashion-MNIST test images)', samples: entries }, null, 2) + '\n');
  console.log(`wrote ${entries.length} PNGs and samples.json to ${out}`);
}

await main();
