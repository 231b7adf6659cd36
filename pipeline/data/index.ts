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
export { loadOwnDataset, channelStats, type OwnDatasetOptions } from './own-dataset.js';
export { OWN_DATASETS, isOwnDataset, DEFAULT_IMAGE_SIZE, DEFAULT_VAL_FRACTION, DEFAULT_TEST_FRACTION, type OwnDatasetName } from './own-defaults.js';
export { discoverFolder, discoverCsv, type DiscoveredFiles, type FileEntry } from './own-files.js';
export { stratifiedSplit, assignSplits, formatLongTailProfile, OWN_SPLIT_SEED } from './own-split.js';
export { loadRunData, loadOptionsOf, runCacheDir } from './run-data.js';
export type { DecodeSpec } from './decode.js';
