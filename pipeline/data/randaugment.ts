// RandAugment as BCL uses it on the classifier view: rand_augment_transform('rand-n2-m10-mstd0.5') of timm's
// RandAugment (the copy BCL / PaCo ship as randaugment.py; docs/ECL.md "Views"). Per image: choose n ops uniformly
// with replacement; each is applied with probability 0.5 at magnitude clip(N(m, mstd), 0, 10), mapped to the op's
// argument as timm does (level / 10 * range, a random sign for the geometric ones). Adapted to small grey or
// colour images: translations are relative (0.45 of the side, TranslateXRel / TranslateYRel), the fill is the
// dataset's mean pixel, resampling is bilinear only. Seeded: the draws come from the given Rng in a fixed order.
import type { Rng } from '../../models/rng.js';
import * as ops from './image-ops.js';
import type { Shape } from './image-ops.js';

export const RAND_AUGMENT_OPS = [
  'AutoContrast',
  'Equalize',
  'Invert',
  'Rotate',
  'PosterizeTpu',
  'Solarize',
  'SolarizeAdd',
  'Color',
  'Contrast',
  'Brightness',
  'Sharpness',
  'ShearX',
  'ShearY',
  'TranslateXRel',
  'TranslateYRel',
] as const;
export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

/**
 * The ops used for an image with `channels` channels. Invert is left out (these datasets have a fixed polarity,
 * e.g. Fashion-MNIST's bright items on black: an inverted view is an image the model never meets); on grey images
 * Color is left out too (it is the identity there, in PIL as well).
 */
export function opsFor(channels: number): RandAugmentOp[] {
  return RAND_AUGMENT_OPS.filter((o) => o !== 'Invert' && !(channels === 1 && o === 'Color'));
}

export interface RandAugmentOptions {
  /** Ops per image (BCL: 2). */
  n: number;
  /** Magnitude m on timm's 0..10 scale (BCL: 10). */
  magnitude: number;
  /** Standard deviation of the per-op magnitude noise (BCL: 0.5). */
  magnitudeStd: number;
  /** Probability of applying each chosen op (timm's RandAugment: 0.5). */
  prob: number;
  /** Fill of the pixels a geometric op uncovers, one value 0..255 per channel (BCL: the dataset mean). */
  fill: number[];
  /** The ops to choose from (default opsFor(channels)). */
  ops?: readonly RandAugmentOp[];
}

/** BCL's setting (rand-n2-m10-mstd0.5) with the given fill. */
export function bclRandAugment(fill: number[]): RandAugmentOptions {
  return { n: 2, magnitude: 10, magnitudeStd: 0.5, prob: 0.5, fill };
}

const MAX_LEVEL = 10;

/** A value with a random sign (timm's _randomly_negate: negated when rng > 0.5). */
const randomlyNegate = (v: number, rng: Rng): number => (rng.next() > 0.5 ? -v : v);

/**
 * Applies op `name` at magnitude `level` (0..10) from src into dst; the sign draw of signed ops comes from rng.
 * Argument mapping as timm's *_level_to_arg.
 */
export function applyOp(name: RandAugmentOp, level: number, src: Float32Array, dst: Float32Array, s: Shape, fill: readonly number[], rng: Rng): void {
  const frac = level / MAX_LEVEL;
  switch (name) {
    case 'AutoContrast':
      return ops.autoContrast(src, dst, s);
    case 'Equalize':
      return ops.equalize(src, dst, s);
    case 'Invert':
      return ops.invert(src, dst, s);
    case 'Rotate':
      return ops.rotate(src, dst, s, randomlyNegate(frac * 30, rng), fill);
    case 'PosterizeTpu':
      return ops.posterize(src, dst, s, Math.trunc(frac * 4));
    case 'Solarize':
      return ops.solarize(src, dst, s, Math.trunc(frac * 256));
    case 'SolarizeAdd':
      return ops.solarizeAdd(src, dst, s, Math.trunc(frac * 110));
    case 'Color':
      return ops.color(src, dst, s, frac * 1.8 + 0.1);
    case 'Contrast':
      return ops.contrast(src, dst, s, frac * 1.8 + 0.1);
    case 'Brightness':
      return ops.brightness(src, dst, s, frac * 1.8 + 0.1);
    case 'Sharpness':
      return ops.sharpness(src, dst, s, frac * 1.8 + 0.1);
    case 'ShearX':
      return ops.shearX(src, dst, s, randomlyNegate(frac * 0.3, rng), fill);
    case 'ShearY':
      return ops.shearY(src, dst, s, randomlyNegate(frac * 0.3, rng), fill);
    case 'TranslateXRel':
      return ops.translateX(src, dst, s, randomlyNegate(frac * 0.45, rng) * s.width, fill);
    case 'TranslateYRel':
      return ops.translateY(src, dst, s, randomlyNegate(frac * 0.45, rng) * s.height, fill);
  }
}

/** Checks RandAugment options against an image shape; throws naming the bad field. */
export function checkRandAugment(o: RandAugmentOptions, s: Shape): void {
  if (!(Number.isInteger(o.n) && o.n >= 0)) throw new Error(`RandAugment: n must be an integer >= 0, got ${o.n}`);
  if (!(o.magnitude >= 0 && o.magnitude <= MAX_LEVEL)) throw new Error(`RandAugment: magnitude must be in [0, ${MAX_LEVEL}], got ${o.magnitude}`);
  if (!(o.magnitudeStd >= 0 && Number.isFinite(o.magnitudeStd))) throw new Error(`RandAugment: magnitudeStd must be >= 0, got ${o.magnitudeStd}`);
  if (!(o.prob >= 0 && o.prob <= 1)) throw new Error(`RandAugment: prob must be in [0, 1], got ${o.prob}`);
  if (o.fill.length !== s.channels) throw new Error(`RandAugment: fill has ${o.fill.length} values for ${s.channels} channels`);
  if (o.ops && o.ops.length === 0) throw new Error('RandAugment: the op list is empty');
}

/**
 * RandAugment of one image in place (`img`), using `scratch` (same size) as the second buffer. Returns the names
 * of the ops that were applied, in order (for tests and logs). Draw order: n op indices, then per op the apply
 * draw, and when applied the magnitude noise and the sign (signed ops only).
 */
export function randAugmentInPlace(img: Float32Array, scratch: Float32Array, s: Shape, rng: Rng, o: RandAugmentOptions): RandAugmentOp[] {
  checkRandAugment(o, s);
  const list = o.ops ?? opsFor(s.channels);
  const chosen = Array.from({ length: o.n }, () => list[rng.int(list.length)]!);
  const applied: RandAugmentOp[] = [];
  for (const name of chosen) {
    if (rng.next() > o.prob) continue;
    const m = o.magnitudeStd > 0 ? o.magnitude + o.magnitudeStd * rng.normal() : o.magnitude;
    const level = Math.min(MAX_LEVEL, Math.max(0, m));
    applyOp(name, level, img, scratch, s, o.fill, rng);
    img.set(scratch);
    applied.push(name);
  }
  return applied;
}
