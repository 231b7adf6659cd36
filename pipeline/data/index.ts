// The data layer's public surface.
export type { ImageSet, DatasetSplits } from './types.js';
export { countPerClass, imageSize, subsetImageSet, validateImageSet } from './types.js';
export {
  datasetNames,
  loadDataset,
  embeddedDir,
  NORMALISATION,
  DEFAULT_VAL_PER_CLASS,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_DEFAULT_ROOT,
  type DatasetName,
  type LoadDatasetOptions,
} from './registry.js';
export { augmentInto, copyInto, defaultAugmentOptions, makeBatch, makeBatchLabels, type AugmentOptions, type ColorJitter } from './augment.js';
export { longTailCounts, buildLongTail, stratifiedLimit, balancedSubset, type LongTailOptions, type LongTailSplit } from './longtail.js';
export { readIdxImages, readIdxLabels, readIdxImageSet, encodeIdx, encodeIdxImageSet } from './idx.js';
export { readCifar, parseCifarBatch, encodeCifarBatch, type CifarKind } from './cifar.js';
export { downloadCifar, CIFAR_URLS } from './download.js';
export { readImageList, parseImageList, loadImageList } from './imagelist.js';
export { readIsicCsv, parseIsicCsv } from './isic.js';
export { decodeImageFile, decodeImageFiles } from './decode.js';
