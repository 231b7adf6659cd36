// Image folders and CSVs in the layouts --dataset folder | csv read, written from real Fashion-MNIST images (the
// embedded subset shipped in pipeline/data/embedded/) plus generated RGB JPEGs of other sizes and aspect ratios.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { readIdxImageSet } from '../../pipeline/data/idx.js';
import { embeddedDir, FASHION_MNIST_CLASS_NAMES } from '../../pipeline/data/registry.js';
import type { ImageSet } from '../../pipeline/data/types.js';

/** Fashion-MNIST class names as folder names ('T-shirt/top' has a slash). */
export const FMNIST_FOLDER_NAMES = FASHION_MNIST_CLASS_NAMES.map((n) => n.replace(/[^A-Za-z0-9_-]+/g, '-'));

let embedded: ImageSet | null = null;
/** The embedded training subset (real 28x28 grey Fashion-MNIST images). */
export async function embeddedTrain(): Promise<ImageSet> {
  const d = embeddedDir();
  embedded ??= await readIdxImageSet(join(d, 'train-images-idx3-ubyte.gz'), join(d, 'train-labels-idx1-ubyte.gz'), FASHION_MNIST_CLASS_NAMES);
  return embedded;
}

export interface WrittenImage {
  path: string;
  /** Class folder / CSV label. */
  label: string;
  /** The image's own size and channel count. */
  width: number;
  height: number;
  grey: boolean;
}

/** counts[k] real Fashion-MNIST images of class k as 28x28 grey PNGs in dir/<class>/fm<i>.png (first `classes` classes). */
export async function writeFmnistPngs(dir: string, counts: number[]): Promise<WrittenImage[]> {
  const set = await embeddedTrain();
  const out: WrittenImage[] = [];
  for (let c = 0; c < counts.length; c++) {
    const label = FMNIST_FOLDER_NAMES[c]!;
    await mkdir(join(dir, label), { recursive: true });
    let k = 0;
    for (let i = 0; i < set.count && k < counts[c]!; i++) {
      if (set.labels[i] !== c) continue;
      const path = join(dir, label, `fm${i}.png`);
      await sharp(Buffer.from(set.images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(path);
      out.push({ path, label, width: 28, height: 28, grey: true });
      k++;
    }
  }
  return out;
}

/** A deterministic RGB pattern (gradients + a class-coloured block) as a JPEG of w x h. */
export async function writeRgbJpeg(path: string, w: number, h: number, seed: number): Promise<void> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = 3 * (y * w + x);
      px[o] = (x * 255) / w + seed * 37;
      px[o + 1] = (y * 255) / h + seed * 11;
      px[o + 2] = ((x + y) * 128) / (w + h) + (seed % 3) * 60;
    }
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(path);
}

/** n RGB JPEGs per size in dir/<label>/; sizes cycle through `sizes` ([w, h]). */
export async function writeRgbJpegs(dir: string, label: string, n: number, sizes: [number, number][]): Promise<WrittenImage[]> {
  await mkdir(join(dir, label), { recursive: true });
  const out: WrittenImage[] = [];
  for (let i = 0; i < n; i++) {
    const [w, h] = sizes[i % sizes.length]!;
    const path = join(dir, label, `rgb${i}.jpg`);
    await writeRgbJpeg(path, w, h, i);
    out.push({ path, label, width: w, height: h, grey: false });
  }
  return out;
}

/** A CSV (path,label[,split]) next to the images, paths relative to the CSV's folder. */
export async function writeCsv(csvPath: string, images: WrittenImage[], split?: (img: WrittenImage, i: number) => string): Promise<void> {
  const base = join(csvPath, '..');
  const rows = images.map((img, i) => [relative(base, img.path), img.label, ...(split ? [split(img, i)] : [])].join(','));
  await writeFile(csvPath, [`path,label${split ? ',split' : ''}`, ...rows].join('\n') + '\n');
}
