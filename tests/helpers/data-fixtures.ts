// Small files in the real formats, written into a temp dir, for the data-layer tests.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { encodeCifarBatch } from '../../pipeline/data/cifar.js';
import { encodeIdx } from '../../pipeline/data/idx.js';
import type { ImageSet } from '../../pipeline/data/types.js';

export async function tempDir(tag: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `ecl-data-${tag}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A deterministic synthetic set: pixel = (7*i + 3*p + 11*label) & 255, the last two bytes = index i (unique images). */
export function syntheticSet(labels: number[], h: number, w: number, c: number, numClasses: number): ImageSet {
  const per = h * w * c;
  const images = new Uint8Array(labels.length * per);
  for (let i = 0; i < labels.length; i++) {
    for (let p = 0; p < per; p++) images[i * per + p] = (7 * i + 3 * p + 11 * labels[i]!) & 255;
    // the last two bytes encode the image index, so every image is distinct
    images[i * per + per - 1] = i & 255;
    images[i * per + per - 2] = (i >> 8) & 255;
  }
  return { images, labels: Int32Array.from(labels), count: labels.length, height: h, width: w, channels: c, classNames: Array.from({ length: numClasses }, (_, k) => `c${k}`) };
}

/** `perClass[k]` labels of class k, interleaved (0,1,2,...,0,1,2,...). */
export function labelsFor(perClass: number[]): number[] {
  const out: number[] = [];
  const left = perClass.slice();
  while (left.some((n) => n > 0)) for (let k = 0; k < left.length; k++) if (left[k]! > 0) (out.push(k), left[k]!--);
  return out;
}

/** Writes IDX images + labels (gzip or raw) and returns their paths. */
export async function writeIdxPair(dir: string, prefix: string, set: ImageSet, gz: boolean): Promise<{ images: string; labels: string }> {
  const im = encodeIdx(set.images, [set.count, set.height, set.width]);
  const lb = encodeIdx(Uint8Array.from(set.labels), [set.count]);
  const images = join(dir, `${prefix}-images-idx3-ubyte${gz ? '.gz' : ''}`);
  const labels = join(dir, `${prefix}-labels-idx1-ubyte${gz ? '.gz' : ''}`);
  await writeFile(images, gz ? gzipSync(im) : im);
  await writeFile(labels, gz ? gzipSync(lb) : lb);
  return { images, labels };
}

/** A Fashion-MNIST-like folder (4 gz files) with the given per-class train counts and `testPer` test images per class. */
export async function writeFashionFolder(dir: string, trainPerClass: number[], testPer: number, side = 8): Promise<{ train: ImageSet; test: ImageSet }> {
  await mkdir(dir, { recursive: true });
  const train = syntheticSet(labelsFor(trainPerClass), side, side, 1, 10);
  const test = syntheticSet(labelsFor(trainPerClass.map(() => testPer)), side, side, 1, 10);
  await writeIdxPair(dir, 'train', train, true);
  await writeIdxPair(dir, 't10k', test, true);
  return { train, test };
}

/** cifar-10-batches-bin with 5 data batches of `perBatch` images and a test batch. */
export async function writeCifar10(root: string, perBatch: number, testCount: number): Promise<{ train: ImageSet; test: ImageSet }> {
  const dir = join(root, 'cifar-10-batches-bin');
  await mkdir(dir, { recursive: true });
  const train = syntheticSet(Array.from({ length: 5 * perBatch }, (_, i) => i % 10), 32, 32, 3, 10);
  for (let b = 0; b < 5; b++) {
    const part = sliceSet(train, b * perBatch, (b + 1) * perBatch);
    await writeFile(join(dir, `data_batch_${b + 1}.bin`), encodeCifarBatch(part, 'cifar10'));
  }
  const test = syntheticSet(Array.from({ length: testCount }, (_, i) => (i * 3) % 10), 32, 32, 3, 10);
  await writeFile(join(dir, 'test_batch.bin'), encodeCifarBatch(test, 'cifar10'));
  await writeFile(join(dir, 'batches.meta.txt'), ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].join('\n') + '\n\n');
  return { train, test };
}

/** cifar-100-binary with train.bin / test.bin (fine label = i % 100, coarse = fine % 20) and fine_label_names.txt. */
export async function writeCifar100(root: string, trainCount: number, testCount: number): Promise<{ train: ImageSet; test: ImageSet }> {
  const dir = join(root, 'cifar-100-binary');
  await mkdir(dir, { recursive: true });
  const train = syntheticSet(Array.from({ length: trainCount }, (_, i) => i % 100), 32, 32, 3, 100);
  const test = syntheticSet(Array.from({ length: testCount }, (_, i) => (i * 7) % 100), 32, 32, 3, 100);
  const coarse = (s: ImageSet) => Array.from(s.labels, (l) => l % 20);
  await writeFile(join(dir, 'train.bin'), encodeCifarBatch(train, 'cifar100', coarse(train)));
  await writeFile(join(dir, 'test.bin'), encodeCifarBatch(test, 'cifar100', coarse(test)));
  await writeFile(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, k) => `fine${k}`).join('\n') + '\n');
  return { train, test };
}

export function sliceSet(set: ImageSet, from: number, to: number): ImageSet {
  const per = set.height * set.width * set.channels;
  return { ...set, images: set.images.slice(from * per, to * per), labels: set.labels.slice(from, to), count: to - from };
}

/** A solid-colour image file (PNG or JPEG) of the given size; `grey` writes a 1-channel PNG. */
export async function writeSolidImage(path: string, w: number, h: number, rgb: [number, number, number], format: 'png' | 'jpeg', grey = false): Promise<void> {
  const ch = grey ? 1 : 3;
  const raw = Buffer.alloc(w * h * ch);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < ch; c++) raw[p * ch + c] = rgb[c]!;
  let img = sharp(raw, { raw: { width: w, height: h, channels: ch } });
  img = format === 'png' ? img.png() : img.jpeg({ quality: 95 });
  await writeFile(path, await img.toBuffer());
}
