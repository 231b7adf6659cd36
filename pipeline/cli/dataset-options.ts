// `ecl train` options for training on the user's own images (--dataset folder | csv), as one --help group,
// and their mapping onto the run config. The loader is pipeline/data/own-dataset.ts.
import type { Argv } from 'yargs';
import { RESIZE_POLICIES, type ResizePolicy } from '../../models/onnx-contract.js';
import type { TrainConfig } from '../../models/artifacts/run-config.js';
import { DEFAULT_IMAGE_SIZE, DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION } from '../data/own-defaults.js';

export const DATASET_OPTIONS_GROUP = 'Your own images (--dataset folder | csv):';

export const datasetOptions = <T>(y: Argv<T>) =>
  y
    .option('csv', { type: 'string', describe: '--dataset csv: CSV with columns path,label[,split] (label = class name, split = train|val|test); paths are relative to the CSV\'s folder, or to --data-root when given' })
    .option('image-size', {
      type: 'number',
      describe: `model input side N (square NxN; default ${DEFAULT_IMAGE_SIZE} for folder/csv: the CIFAR ResNets' size, fast on CPU; 28 or less trains cnn28, more trains resnet32)`,
    })
    .option('channels', { type: 'number', choices: [1, 3], describe: 'model input channels: 1 grey, 3 RGB (default: from the data: all grey -> 1, all colour -> 3; mixed -> error)' })
    .option('val-fraction', { type: 'number', describe: `validation share per class when the data has no val/ split (default ${DEFAULT_VAL_FRACTION})` })
    .option('test-fraction', { type: 'number', describe: `test share per class when the data has no test/ split (default ${DEFAULT_TEST_FRACTION}); every class keeps at least one training image` })
    .option('skip-bad-images', { type: 'boolean', describe: 'skip missing, empty, corrupt or unsupported files (counted in train-summary.json) instead of stopping at the first' })
    .option('mean', { type: 'array', number: true, describe: 'normalisation mean per channel in [0,1] pixel units (default: computed on the training split)' })
    .option('std', { type: 'array', number: true, describe: 'normalisation std per channel (with --mean)' })
    .option('resize', { type: 'string', choices: RESIZE_POLICIES as unknown as string[], describe: 'how images of any size become NxN: center-crop (default) or stretch' })
    .group(['csv', 'image-size', 'channels', 'val-fraction', 'test-fraction', 'skip-bad-images', 'mean', 'std', 'resize'], DATASET_OPTIONS_GROUP);

/** The run-config fields of the options above (absent when not given, so config defaults apply). */
export function datasetConfigFromArgs(a: Record<string, unknown>): Partial<TrainConfig> {
  const out: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, v: unknown) => {
    if (v !== undefined) out[k] = v as TrainConfig[K];
  };
  set('csv', a.csv);
  set('imageSize', a['image-size']);
  set('channels', a.channels as 1 | 3 | undefined);
  set('valFraction', a['val-fraction']);
  set('testFraction', a['test-fraction']);
  set('skipBadImages', a['skip-bad-images']);
  set('mean', a.mean);
  set('std', a.std);
  set('resize', a.resize as ResizePolicy | undefined);
  return out;
}
