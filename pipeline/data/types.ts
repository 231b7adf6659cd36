// Common in-memory types of the data layer.

/** A set of equally sized 8-bit images with integer labels, stored HWC, image after image. */
export interface ImageSet {
  /** count * height * width * channels bytes, HWC per image. */
  images: Uint8Array;
  /** count labels in [0, classNames.length). */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
}

/** What `loadDataset` returns. */
export interface DatasetSplits {
  name: string;
  /** The path the data was read from. */
  source: string;
  train: ImageSet;
  val: ImageSet;
  test: ImageSet;
  /** Training images per class. */
  classCounts: number[];
  /** Validation images per class (may be short for head classes, see `notes`). */
  valCounts: number[];
  classNames: string[];
  /** Per-channel normalisation constants in [0, 1] pixel units, fixed per dataset. */
  mean: number[];
  std: number[];
  /** Actual imbalance of the training split: max(classCounts) / min(classCounts). */
  imbalanceFactor: number;
  /** Human-readable facts worth printing (short validation classes, ignored options, ...). */
  notes: string[];
  /** Where the validation split comes from, when not the dataset's own (e.g. 'test-half'); written to run.json. */
  valSplit?: 'test-half';
  /** --dataset folder | csv with --skip-bad-images: the files left out and why. */
  skippedImages?: { path: string; reason: string }[];
}

/** Bytes of one image. */
export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** Checks the internal consistency of a set; `what` names it in the error. */
export function validateImageSet(set: ImageSet, what: string): ImageSet {
  const per = imageSize(set);
  if (set.images.length !== set.count * per)
    throw new Error(`${what}: ${set.images.length} image bytes, expected ${set.count} x ${set.height}x${set.width}x${set.channels} = ${set.count * per}`);
  if (set.labels.length !== set.count) throw new Error(`${what}: ${set.labels.length} labels for ${set.count} images`);
  const c = set.classNames.length;
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i]!;
    if (l < 0 || l >= c) throw new Error(`${what}: label ${l} of image ${i} is out of range [0, ${c - 1}]`);
  }
  return set;
}

/** A new set with the given images (copied), in the given order. */
export function subsetImageSet(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const per = imageSize(set);
  const n = indices.length;
  const images = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    if (i < 0 || i >= set.count || !Number.isInteger(i)) throw new Error(`subsetImageSet: index ${i} out of range [0, ${set.count - 1}]`);
    images.set(set.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = set.labels[i]!;
  }
  return { images, labels, count: n, height: set.height, width: set.width, channels: set.channels, classNames: set.classNames.slice() };
}

/** Number of images per class. */
export function countPerClass(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}
