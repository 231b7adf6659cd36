export { countPerClass, imageSize, subsetImageSet, validateImageSet } from './types.js';
export { datasetNames, loadDataset, embeddedDir, NORMALISATION, DEFAULT_VAL_PER_CLASS, FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DEFAULT_ROOT, } from './registry.js';
export { augmentInto, copyInto, defaultAugmentOptions, makeBatch, makeBatchLabels } from './augment.js';
export { longTailCounts, buildLongTail, stratifiedLimit, balancedSubset } from './longtail.js';
export { readIdxImages, readIdxLabels, readIdxImageSet, encodeIdx, encodeIdxImageSet } from './idx.js';
export { readCifar, parseCifarBatch, encodeCifarBatch } from './cifar.js';
export { downloadCifar, CIFAR_URLS } from './download.js';
export { readImageList, parseImageList, loadImageList } from './imagelist.js';
export { readIsicCsv, parseIsicCsv } from './isic.js';
export { decodeImageFile, decodeImageFiles } from './decode.js';
//# sourceMappingURL=index.js.map