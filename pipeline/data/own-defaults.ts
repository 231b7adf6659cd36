// Defaults and bounds of --dataset folder | csv, in a module without heavy imports (the CLI and config read them).
import type { ModelFamily } from '../../models/spec.js';

export const OWN_DATASETS = ['folder', 'csv'] as const;
export type OwnDatasetName = (typeof OWN_DATASETS)[number];

export function isOwnDataset(name: string): name is OwnDatasetName {
  return (OWN_DATASETS as readonly string[]).includes(name);
}

/**
 * Default --image-size: 32, the input the CIFAR ResNets were designed for. Small inputs keep CPU training at
 * hundreds of images per second and the decoded cache at 3 KiB per RGB image; pass --image-size for more detail
 * (or 28 for MNIST-like data, which then trains cnn28 on its own pixels).
 */
export const DEFAULT_IMAGE_SIZE = 32;
export const MIN_IMAGE_SIZE = 8;
export const MAX_IMAGE_SIZE = 512;
/** Defaults of --val-fraction / --test-fraction: 10% each, the usual hold-out for a few thousand images. */
export const DEFAULT_VAL_FRACTION = 0.1;
export const DEFAULT_TEST_FRACTION = 0.1;

/**
 * cnn28 flattens its (size/4)^2 x 64 feature map into a 128-unit layer, so its weights grow with the input area
 * (0.4M at 28 px, 2.1M at 64 px); above 64 px use a ResNet (global average pooling: any size, any channels).
 */
export const CNN28_MAX_IMAGE_SIZE = 64;

/** cnn28 for MNIST-sized inputs (<= 28 px), resnet32 above; both take 1 or 3 channels, so channels do not decide. */
export function defaultOwnModel(imageSize: number): ModelFamily {
  return imageSize <= 28 ? 'cnn28' : 'resnet32';
}
