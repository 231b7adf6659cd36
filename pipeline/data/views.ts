// The three training views (classifier view v1, contrastive views v2 and v3) under `--views`:
//   weak       every view: crop (zero padding) + flip (+ colour jitter for RGB), pipeline/data/augment.ts
//   reference  the references' split (docs/ECL.md "Views"):
//              v1 = crop (zero padding) + flip + RandAugment n2 m10 mstd0.5 (BCL's randaug classifier view; for
//                   CIFAR-sized images the crop is PaCo's / BCL's RandomCrop(pad) + flip)
//              v2, v3 = SimCLR as in BCL's augmentation_sim (CIFAR scale): RandomResizedCrop(scale 0.2-1, ratio
//                   3/4-4/3), flip, ColorJitter(0.4, 0.4, 0.4) with p = 0.8 in a random order, RandomGrayscale p = 0.2
//                   (RGB); grey images get brightness and contrast only
// Everything is drawn from the epoch's seeded Rng, view after view, image after image: a run replays exactly.
import type { Rng } from '../../models/rng.js';
import { augmentInto, makeBatch, type AugmentOptions } from './augment.js';
import * as ops from './image-ops.js';
import type { Shape } from './image-ops.js';
import { bclRandAugment, checkRandAugment, randAugmentInPlace, type RandAugmentOptions } from './randaugment.js';
import { imageSize, type ImageSet } from './types.js';

export const VIEW_POLICIES = ['weak', 'reference'] as const;
export type ViewPolicy = (typeof VIEW_POLICIES)[number];

export interface SimclrOptions {
  /** Area fraction range of RandomResizedCrop. */
  scale: [number, number];
  /** Aspect-ratio range (w / h) of RandomResizedCrop. */
  ratio: [number, number];
  flip: boolean;
  /** Probability that colour jitter is applied (RandomApply). */
  jitterProb: number;
  /** Jitter strengths: factors uniform in [max(0, 1 - x), 1 + x]; saturation acts on RGB only. */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Probability of RandomGrayscale (RGB only). */
  greyscaleProb: number;
}

/** BCL / PaCo's CIFAR contrastive view (augmentation_sim_cifar without hue and blur, see docs/ECL.md). */
export const SIMCLR_REFERENCE: SimclrOptions = {
  scale: [0.2, 1],
  ratio: [3 / 4, 4 / 3],
  flip: true,
  jitterProb: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.4,
  greyscaleProb: 0.2,
};

/** torchvision RandomResizedCrop.get_params: up to 10 tries at a random area and log-uniform ratio, else a centre crop. */
export function randomResizedCropBox(H: number, W: number, rng: Rng, scale: readonly [number, number], ratio: readonly [number, number]): { top: number; left: number; h: number; w: number } {
  const area = H * W;
  const logR = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let t = 0; t < 10; t++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.next());
    const ar = Math.exp(logR[0] + (logR[1] - logR[0]) * rng.next());
    const w = Math.round(Math.sqrt(target * ar));
    const h = Math.round(Math.sqrt(target / ar));
    if (w > 0 && w <= W && h > 0 && h <= H) return { top: rng.int(H - h + 1), left: rng.int(W - w + 1), h, w };
  }
  const inRatio = W / H;
  let w = W;
  let h = H;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), h, w };
}

/** One SimCLR view of `img` in place (scratch: same size). */
export function simclrInPlace(img: Float32Array, scratch: Float32Array, s: Shape, rng: Rng, o: SimclrOptions): void {
  const box = randomResizedCropBox(s.height, s.width, rng, o.scale, o.ratio);
  ops.resizedCrop(img, scratch, s, box.top, box.left, box.h, box.w);
  img.set(scratch);
  if (o.flip && rng.next() < 0.5) {
    ops.flipHorizontal(img, scratch, s);
    img.set(scratch);
  }
  if (rng.next() < o.jitterProb) {
    // torchvision ColorJitter: a random order of the adjustments, each factor uniform in [max(0, 1 - x), 1 + x].
    const order = rng.shuffle([0, 1, 2]) as number[];
    const factor = (x: number) => Math.max(0, 1 - x) + (1 + x - Math.max(0, 1 - x)) * rng.next();
    const f = [factor(o.brightness), factor(o.contrast), factor(o.saturation)];
    for (const k of order) {
      if (k === 0) ops.brightness(img, scratch, s, f[0]!);
      else if (k === 1) ops.contrast(img, scratch, s, f[1]!);
      else if (s.channels === 3) ops.color(img, scratch, s, f[2]!);
      else continue; // saturation of a grey image is the identity
      img.set(scratch);
    }
  }
  if (s.channels === 3 && rng.next() < o.greyscaleProb) {
    ops.greyscale(img, scratch, s);
    img.set(scratch);
  }
}

/** The reference views of one image set: v1 = crop + flip + RandAugment, v2 / v3 = SimCLR. */
export class ReferenceViews {
  readonly shape: Shape;
  private readonly scratch: Float32Array;
  private readonly img: Float32Array;

  constructor(
    shape: Shape,
    readonly crop: AugmentOptions,
    readonly randAugment: RandAugmentOptions,
    readonly simclr: SimclrOptions = SIMCLR_REFERENCE,
  ) {
    this.shape = { height: shape.height, width: shape.width, channels: shape.channels };
    checkRandAugment(randAugment, this.shape);
    const n = shape.height * shape.width * shape.channels;
    this.scratch = new Float32Array(n);
    this.img = new Float32Array(n);
  }

  /** Writes view `view` (0 = classifier, 1 / 2 = contrastive) of image `index` into out[offset ...]. */
  viewInto(out: Float32Array, offset: number, set: ImageSet, index: number, view: number, rng: Rng): void {
    if (view === 0) {
      augmentInto(this.img, 0, set, index, rng, { ...this.crop, jitter: null });
      randAugmentInPlace(this.img, this.scratch, this.shape, rng, this.randAugment);
    } else {
      const per = imageSize(set);
      if (!(index >= 0 && index < set.count) || !Number.isInteger(index)) throw new Error(`image index ${index} out of range [0, ${set.count - 1}]`);
      this.img.set(set.images.subarray(index * per, (index + 1) * per));
      simclrInPlace(this.img, this.scratch, this.shape, rng, this.simclr);
    }
    out.set(this.img, offset);
  }
}

/** The reference views for a model input, with the dataset mean pixel as RandAugment's fill (BCL: img_mean). */
export function referenceViewsFor(shape: Shape & { mean: number[] }, crop: AugmentOptions): ReferenceViews {
  return new ReferenceViews(shape, crop, bclRandAugment(shape.mean.map((m) => Math.min(255, Math.round(255 * m)))));
}

/**
 * One view of a batch (view-major layout as the trainer feeds the model), N x H x W x C floats 0..255:
 * policy 'weak' is makeBatch with `crop`; 'reference' draws view `view` of ReferenceViews. `crop` null = no
 * augmentation at all (plain copies; only with 'weak').
 */
export function makeViewBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  rng: Rng,
  view: number,
  policy: { kind: 'weak'; crop: AugmentOptions | null } | { kind: 'reference'; views: ReferenceViews },
  out: Float32Array,
): Float32Array {
  if (policy.kind === 'weak') return makeBatch(set, indices, policy.crop ? rng : null, policy.crop, out);
  const per = imageSize(set);
  if (out.length < indices.length * per) throw new Error(`makeViewBatch: output buffer holds ${out.length} floats, the batch needs ${indices.length * per}`);
  for (let k = 0; k < indices.length; k++) policy.views.viewInto(out, k * per, set, indices[k]!, view, rng);
  return out;
}
