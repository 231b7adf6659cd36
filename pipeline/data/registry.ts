// Dataset registry: loadDataset(name, opts) -> train / val / test splits plus the facts a trainer needs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageDataOptions } from '../../models/artifacts/run-config.js';
import { CIFAR10_CLASS_NAMES, readCifar, resolveCifarDir, type CifarKind } from './cifar.js';
import { downloadCifar, CIFAR_URLS } from './download.js';
import { exists, isDirectory, readFileChecked, readTextChecked } from './files.js';
import { readIdxImageSet } from './idx.js';
import { classNamesFromLists, loadImageList, readImageList } from './imagelist.js';
import { readIsicCsv } from './isic.js';
import { balancedSubset, buildLongTail, indicesByClass, stratifiedLimit, TEST_HALVES_SEED, testHalves } from './longtail.js';
import { deriveRng } from '../../models/rng.js';
import { countPerClass, subsetImageSet, validateImageSet, type DatasetSplits, type ImageSet } from './types.js';
import { decodeImageFiles } from './decode.js';
import { DEFAULT_RESIZE_POLICY } from '../../models/onnx-contract.js';
import { loadOwnDataset } from './own-dataset.js';
import { OWN_DATASETS, type OwnDatasetName } from './own-defaults.js';

export type { DatasetSplits, ImageSet } from './types.js';

export const FASHION_MNIST_CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';

const DATASETS = ['embedded', 'fmnist-lt', 'cifar10-lt', 'cifar100-lt', 'imagenet-lt', 'isic2019'] as const;
/** The built-in datasets (fixed class names and normalisation). */
export type BuiltinDatasetName = (typeof DATASETS)[number];
/** Built-in ones plus the user's own images (own-dataset.ts: folder, csv). */
export type DatasetName = BuiltinDatasetName | OwnDatasetName;

export function datasetNames(): DatasetName[] {
  return [...DATASETS, ...OWN_DATASETS];
}

/** Per-channel normalisation constants, [0, 1] pixel units, fixed per dataset. */
export const NORMALISATION: Record<BuiltinDatasetName, { mean: number[]; std: number[] }> = {
  embedded: { mean: [0.286], std: [0.353] },
  'fmnist-lt': { mean: [0.286], std: [0.353] },
  'cifar10-lt': { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  'cifar100-lt': { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  'imagenet-lt': { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  isic2019: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

/**
 * Default validation images per class, for the datasets whose validation split is balanced per class (embedded:
 * its shipped split, capped; imagenet-lt: its val list; isic2019: the fixed split). fmnist-lt and cifar*-lt
 * validate on half of their test split instead (VAL_FROM_TEST_HALF) and ignore valPerClass.
 */
export const DEFAULT_VAL_PER_CLASS: Record<BuiltinDatasetName, number> = {
  embedded: 50,
  'fmnist-lt': 100,
  'cifar10-lt': 100,
  'cifar100-lt': 20,
  'imagenet-lt': 20,
  isic2019: 25,
};

/** The built-in long-tail sets whose validation split is a stratified half of the balanced test split (longtail.ts testHalves). */
export const VAL_FROM_TEST_HALF: readonly BuiltinDatasetName[] = ['fmnist-lt', 'cifar10-lt', 'cifar100-lt'];

/** ISIC 2019 publishes labels for its training images only; we split those with this fixed seed so the test set never changes. */
export const ISIC_SPLIT_SEED = 2019;
/** Balanced ISIC test images per class (fewer for a class with under 4x this many images). */
export const ISIC_TEST_PER_CLASS = 50;

/**
 * Image-file options (ImageDataOptions): imageSize is also the side of imagenet-lt / isic2019 images (default 32);
 * resize applies to every image-file dataset; csv is also isic2019's ground-truth CSV (default
 * root/ISIC_2019_Training_GroundTruth.csv, images in root/ISIC_2019_Training_Input when it exists, else root); the
 * rest is folder / csv only (own-dataset.ts).
 */
export interface LoadDatasetOptions extends ImageDataOptions {
  /** Imbalance factor of the long-tail profile (100, 50, 10; 1 = balanced). Ignored by naturally long-tailed sets. */
  imbalance: number;
  seed: number;
  /** Data folder (required except for fmnist-lt and embedded). */
  root?: string;
  /** Validation images per class (see DEFAULT_VAL_PER_CLASS). */
  valPerClass?: number;
  /** Keep at most this many training images (proportional per class, seeded). */
  trainLimit?: number;
  /** Keep at most this many test images (proportional per class, seeded). */
  testLimit?: number;
  /** Head-class size of the long-tail profile (default: the largest class). */
  nMax?: number;
  /** cifar10-lt / cifar100-lt: download the archive into root when it is missing. */
  download?: boolean;
  /** imagenet-lt: list files (default root/ImageNet_LT_{train,val,test}.txt) and image root (default root). */
  trainList?: string;
  valList?: string;
  testList?: string;
  imageDir?: string;
  /** folder / csv: decoded-image cache folder. */
  cacheDir?: string;
  /** Progress messages. */
  log?: (msg: string) => void;
}

function checkOpts(opts: LoadDatasetOptions): void {
  const posInt = (v: number | undefined, what: string, min = 1) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new Error(`${what} must be an integer >= ${min}, got ${v}`);
  };
  if (!Number.isFinite(opts.imbalance) || opts.imbalance < 1) throw new Error(`imbalance must be a number >= 1 (1 = balanced), got ${opts.imbalance}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
  posInt(opts.valPerClass, 'valPerClass', 0);
  posInt(opts.imageSize, 'imageSize');
  posInt(opts.trainLimit, 'trainLimit');
  posInt(opts.testLimit, 'testLimit');
  posInt(opts.nMax, 'nMax');
}

/** The folder of the shipped default dataset, found relative to this module (works from source and from dist/). */
export function embeddedDir(): string {
  const candidates = [new URL('./embedded/', import.meta.url), new URL('../../../pipeline/data/embedded/', import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(join(p, 'manifest.json'))) return p.replace(/[\/]+$/, '');
  }
  throw new Error(`embedded dataset not found: looked for manifest.json in ${candidates.map((u) => fileURLToPath(u)).join(' and ')}`);
}

export interface EmbeddedManifest {
  name: string;
  source: string;
  description: string;
  classNames: string[];
  imbalance: number;
  nMax: number;
  seed: number;
  splits: Record<'train' | 'val' | 'test', { count: number; classCounts: number[]; images: string; labels: string }>;
  files: Record<string, { sha256: string; bytes: number }>;
}

/** Splits + the facts computed from them. */
function finish(
  name: BuiltinDatasetName,
  source: string,
  train: ImageSet,
  val: ImageSet,
  test: ImageSet,
  notes: string[],
  opts: LoadDatasetOptions,
): DatasetSplits {
  const C = train.classNames.length;
  if (opts.trainLimit !== undefined && opts.trainLimit < train.count) {
    const keep = stratifiedLimit(Int32Array.from({ length: train.count }, (_, i) => i), train.labels, C, opts.trainLimit, opts.seed, 'train-limit');
    notes.push(`trainLimit: kept ${keep.length} of ${train.count} training images (proportional per class)`);
    train = subsetImageSet(train, keep);
  }
  if (opts.testLimit !== undefined && opts.testLimit < test.count) {
    const keep = stratifiedLimit(Int32Array.from({ length: test.count }, (_, i) => i), test.labels, C, opts.testLimit, opts.seed, 'test-limit');
    notes.push(`testLimit: kept ${keep.length} of ${test.count} test images (proportional per class)`);
    test = subsetImageSet(test, keep);
  }
  validateImageSet(train, `${name} train split`);
  validateImageSet(val, `${name} val split`);
  validateImageSet(test, `${name} test split`);
  const classCounts = countPerClass(train.labels, C);
  const valCounts = countPerClass(val.labels, C);
  const nonzero = classCounts.filter((n) => n > 0);
  const emptyClasses = classCounts.flatMap((n, c) => (n === 0 ? [c] : []));
  if (emptyClasses.length) notes.push(`train: class(es) ${emptyClasses.join(', ')} have no training images`);
  const { mean, std } = NORMALISATION[name];
  return {
    name,
    source,
    train,
    val,
    test,
    classCounts,
    valCounts,
    classNames: train.classNames.slice(),
    mean: mean.slice(),
    std: std.slice(),
    imbalanceFactor: nonzero.length ? Math.max(...nonzero) / Math.min(...nonzero) : 0,
    notes,
  };
}

function ignoredImageSize(opts: LoadDatasetOptions, native: number, name: string, notes: string[]): void {
  if (opts.imageSize !== undefined && opts.imageSize !== native)
    notes.push(`imageSize ${opts.imageSize} ignored: ${name} images are ${native}x${native}`);
}

/**
 * Long-tail train from a balanced train split; validation = a stratified half of the balanced test split, test =
 * the other half (fixed seed, the same for every run). testLimit, when given, caps each half (val included), so a
 * smoke run evaluates quickly.
 */
function longTailSplits(name: BuiltinDatasetName, source: string, train: ImageSet, test: ImageSet, opts: LoadDatasetOptions, notes: string[]): DatasetSplits {
  const lt = buildLongTail(train.labels, train.classNames.length, {
    imbalance: opts.imbalance,
    seed: opts.seed,
    nMax: opts.nMax,
    classNames: train.classNames,
  });
  notes.push(...lt.notes);
  const C = test.classNames.length;
  const halves = testHalves(test.labels, C);
  let valSel: Int32Array = halves.val;
  if (opts.testLimit !== undefined && opts.testLimit < valSel.length) valSel = stratifiedLimit(valSel, test.labels, C, opts.testLimit, opts.seed, 'val-limit');
  const val = subsetImageSet(test, valSel);
  const rest = subsetImageSet(test, halves.test);
  notes.push(
    `validation: a stratified half of the balanced test split (${val.count} images, ${formatPerClass(countPerClass(val.labels, C))} per class; ` +
      `fixed seed ${TEST_HALVES_SEED}, the same for every run), test: the other half (${rest.count}); valPerClass does not apply`,
  );
  return { ...finish(name, source, subsetImageSet(train, lt.train), val, rest, notes, opts), valSplit: 'test-half' };
}

/** "500" when every class has the same count, else the counts. */
function formatPerClass(counts: number[]): string {
  return counts.every((n) => n === counts[0]) ? String(counts[0] ?? 0) : counts.join('/');
}

async function loadEmbedded(opts: LoadDatasetOptions): Promise<DatasetSplits> {
  const dir = embeddedDir();
  const manifest = JSON.parse(await readTextChecked(join(dir, 'manifest.json'))) as EmbeddedManifest;
  const notes: string[] = [];
  if (opts.imbalance !== manifest.imbalance)
    notes.push(`embedded: the shipped subset is fixed at imbalance ${manifest.imbalance} (n_max ${manifest.nMax}); imbalance ${opts.imbalance} ignored (use fmnist-lt for other factors)`);
  if (opts.nMax !== undefined && opts.nMax !== manifest.nMax) notes.push(`embedded: nMax ${opts.nMax} ignored (fixed at ${manifest.nMax})`);
  ignoredImageSize(opts, 28, 'embedded', notes);
  const load = async (split: 'train' | 'val' | 'test'): Promise<ImageSet> => {
    const s = manifest.splits[split];
    for (const f of [s.images, s.labels]) {
      const buf = await readFileChecked(join(dir, f));
      const sha = createHash('sha256').update(buf).digest('hex');
      const want = manifest.files[f]?.sha256;
      if (sha !== want)
        throw new Error(`embedded dataset file ${join(dir, f)} is damaged: sha256 ${sha}, manifest says ${want}; regenerate it with scripts/make-embedded-dataset.ts`);
    }
    const set = await readIdxImageSet(join(dir, s.images), join(dir, s.labels), manifest.classNames);
    if (set.count !== s.count) throw new Error(`embedded dataset ${split} split has ${set.count} images, manifest says ${s.count}`);
    return set;
  };
  const [train, val0, test] = await Promise.all([load('train'), load('val'), load('test')]);
  let val = val0;
  const C = manifest.classNames.length;
  if (opts.valPerClass !== undefined && opts.valPerClass < Math.max(...countPerClass(val.labels, C)))
    val = subsetImageSet(val, balancedSubset(val.labels, C, opts.valPerClass, opts.seed, 'val-limit'));
  return finish('embedded', dir, train, val, test, notes, opts);
}

async function fmnistFile(root: string, base: string): Promise<string> {
  for (const f of [`${base}.gz`, base]) if (await exists(join(root, f))) return join(root, f);
  throw new Error(`file not found: ${join(root, base + '.gz')} (nor the uncompressed ${base})`);
}

async function loadFashionMnist(opts: LoadDatasetOptions): Promise<DatasetSplits> {
  const root = opts.root ?? FASHION_MNIST_DEFAULT_ROOT;
  if (!(await isDirectory(root)))
    throw new Error(
      `Fashion-MNIST folder not found: ${root}` +
        (opts.root === undefined ? ` (install Debian's dataset-fashion-mnist package, or pass a root holding the four *-ubyte.gz files)` : ''),
    );
  const notes: string[] = [];
  ignoredImageSize(opts, 28, 'Fashion-MNIST', notes);
  // One at a time, so the error names the first missing file in this order (Promise.all raced).
  const files: string[] = [];
  for (const base of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) files.push(await fmnistFile(root, base));
  const [trImg, trLab, teImg, teLab] = files as [string, string, string, string];
  const [train, test] = await Promise.all([
    readIdxImageSet(trImg, trLab, FASHION_MNIST_CLASS_NAMES),
    readIdxImageSet(teImg, teLab, FASHION_MNIST_CLASS_NAMES),
  ]);
  if (train.height !== test.height || train.width !== test.width)
    throw new Error(`Fashion-MNIST in ${root}: train images are ${train.height}x${train.width} but test images are ${test.height}x${test.width}`);
  return longTailSplits('fmnist-lt', root, train, test, opts, notes);
}

function cifarHelp(kind: CifarKind, root: string | undefined): string {
  const sub = kind === 'cifar10' ? 'cifar-10-batches-bin/data_batch_1.bin ... test_batch.bin' : 'cifar-100-binary/train.bin, test.bin';
  return (
    `${kind === 'cifar10' ? 'cifar10-lt' : 'cifar100-lt'} needs the ${kind === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} binary version: ` +
    `download ${CIFAR_URLS[kind]}, extract it so that ${root ?? '<root>'}/${sub} exist, and pass that folder as root (--root). ` +
    `Download code exists (--download fetches and extracts the archive into root), but this machine has no internet access, so it only works elsewhere.`
  );
}

async function loadCifarLt(name: 'cifar10-lt' | 'cifar100-lt', opts: LoadDatasetOptions): Promise<DatasetSplits> {
  const kind: CifarKind = name === 'cifar10-lt' ? 'cifar10' : 'cifar100';
  if (!opts.root) throw new Error(`no root given. ${cifarHelp(kind, undefined)}`);
  const notes: string[] = [];
  try {
    await resolveCifarDir(kind, opts.root);
  } catch (e) {
    if (!opts.download) throw new Error(`${e instanceof Error ? e.message : String(e)}. ${cifarHelp(kind, opts.root)}`);
    await downloadCifar(kind, opts.root, opts.log);
    notes.push(`downloaded ${CIFAR_URLS[kind]} into ${opts.root}`);
  }
  ignoredImageSize(opts, 32, kind, notes);
  const { dir, train, test } = await readCifar(kind, opts.root);
  return longTailSplits(name, dir, train, test, opts, notes);
}

async function loadImagenetLt(opts: LoadDatasetOptions): Promise<DatasetSplits> {
  if (!opts.root)
    throw new Error(
      `imagenet-lt needs root: the folder with ImageNet_LT_train.txt, ImageNet_LT_val.txt, ImageNet_LT_test.txt ` +
        `('relative/path.JPEG label' per line) and the images the lists name (or pass imageDir / trainList / valList / testList)`,
    );
  const root = opts.root;
  const size = opts.imageSize ?? 32;
  const notes: string[] = [];
  if (opts.imbalance !== 100) notes.push(`imagenet-lt is long-tailed by its list files; imbalance ${opts.imbalance} ignored`);
  if (opts.nMax !== undefined) notes.push(`imagenet-lt: nMax ignored`);
  const paths = {
    train: opts.trainList ?? join(root, 'ImageNet_LT_train.txt'),
    val: opts.valList ?? join(root, 'ImageNet_LT_val.txt'),
    test: opts.testList ?? join(root, 'ImageNet_LT_test.txt'),
  };
  const imageRoot = opts.imageDir ?? root;
  const [trainL, valL, testL] = await Promise.all([readImageList(paths.train), readImageList(paths.val), readImageList(paths.test)]);
  const C = Math.max(...[trainL, valL, testL].map((l) => l.labels.reduce((a, b) => Math.max(a, b), 0))) + 1;
  const classNames = classNamesFromLists([trainL, valL, testL], C);
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  // Select before decoding so limits save decoding time (finish() then finds nothing more to cut).
  let trainSel: Int32Array = all(trainL.paths.length);
  if (opts.trainLimit !== undefined && opts.trainLimit < trainSel.length) {
    trainSel = stratifiedLimit(trainSel, trainL.labels, C, opts.trainLimit, opts.seed, 'train-limit');
    notes.push(`trainLimit: kept ${trainSel.length} of ${trainL.paths.length} training images (proportional per class)`);
  }
  const valSel = balancedSubset(valL.labels, C, opts.valPerClass ?? DEFAULT_VAL_PER_CLASS['imagenet-lt'], opts.seed, 'val-limit');
  let testSel: Int32Array = all(testL.paths.length);
  if (opts.testLimit !== undefined && opts.testLimit < testSel.length) {
    testSel = stratifiedLimit(testSel, testL.labels, C, opts.testLimit, opts.seed, 'test-limit');
    notes.push(`testLimit: kept ${testSel.length} of ${testL.paths.length} test images (proportional per class)`);
  }
  const progress = (what: string) => (d: number, t: number) => opts.log?.(`imagenet-lt ${what}: decoded ${d}/${t}`);
  const train = await loadImageList(trainL, paths.train, imageRoot, size, classNames, trainSel, progress('train'), opts.resize ?? DEFAULT_RESIZE_POLICY);
  const val = await loadImageList(valL, paths.val, imageRoot, size, classNames, valSel, progress('val'), opts.resize ?? DEFAULT_RESIZE_POLICY);
  const test = await loadImageList(testL, paths.test, imageRoot, size, classNames, testSel, progress('test'), opts.resize ?? DEFAULT_RESIZE_POLICY);
  const { trainLimit: _t, testLimit: _u, ...rest } = opts;
  return finish('imagenet-lt', root, train, val, test, notes, rest);
}

async function loadIsic(opts: LoadDatasetOptions): Promise<DatasetSplits> {
  if (!opts.root)
    throw new Error(`isic2019 needs root: the folder with ISIC_2019_Training_GroundTruth.csv and ISIC_2019_Training_Input/<image>.jpg (or pass csv / imageDir)`);
  const root = opts.root;
  const size = opts.imageSize ?? 32;
  const csv = opts.csv ?? join(root, 'ISIC_2019_Training_GroundTruth.csv');
  const imageDir = opts.imageDir ?? ((await isDirectory(join(root, 'ISIC_2019_Training_Input'))) ? join(root, 'ISIC_2019_Training_Input') : root);
  const notes: string[] = [];
  if (opts.imbalance !== 100) notes.push(`isic2019 is naturally long-tailed; imbalance ${opts.imbalance} ignored`);
  if (opts.nMax !== undefined) notes.push(`isic2019: nMax ignored`);
  const table = await readIsicCsv(csv);
  // Drop classes without any image (UNK in ISIC 2019) so that every class can be learned and evaluated.
  const counts = countPerClass(table.labels, table.classNames.length);
  const keep = counts.flatMap((n, c) => (n > 0 ? [c] : []));
  if (keep.length < table.classNames.length)
    notes.push(`isic2019: dropped class(es) without images: ${counts.flatMap((n, c) => (n === 0 ? [table.classNames[c]] : [])).join(', ')}`);
  if (keep.length < 2) throw new Error(`ISIC ground-truth CSV ${csv}: only ${keep.length} class(es) have images; need at least 2`);
  const remap = new Int32Array(table.classNames.length).fill(-1);
  keep.forEach((c, k) => (remap[c] = k));
  const classNames = keep.map((c) => table.classNames[c]!);
  const labels = table.labels.map((l) => remap[l]!);
  const C = classNames.length;
  // Fixed split (ISIC_SPLIT_SEED): per class, a balanced test part, then a balanced val part, the rest trains.
  const valPer = opts.valPerClass ?? DEFAULT_VAL_PER_CLASS.isic2019;
  const by = indicesByClass(labels, C);
  const tr: number[] = [];
  const va: number[] = [];
  const te: number[] = [];
  for (let c = 0; c < C; c++) {
    const idx = by[c]!;
    deriveRng(ISIC_SPLIT_SEED, 'isic-split', c).shuffle(idx);
    const nTe = Math.min(ISIC_TEST_PER_CLASS, Math.floor(idx.length / 4));
    const nVa = Math.min(valPer, Math.floor((idx.length - nTe) / 4));
    if (nTe < ISIC_TEST_PER_CLASS || nVa < valPer)
      notes.push(`isic2019: class ${classNames[c]} has ${idx.length} images: test ${nTe}, val ${nVa} (a quarter at most each)`);
    te.push(...idx.slice(0, nTe));
    va.push(...idx.slice(nTe, nTe + nVa));
    tr.push(...idx.slice(nTe + nVa));
  }
  let trainSel: Int32Array = Int32Array.from(tr).sort();
  let testSel: Int32Array = Int32Array.from(te).sort();
  if (opts.trainLimit !== undefined && opts.trainLimit < trainSel.length) {
    const before = trainSel.length;
    trainSel = stratifiedLimit(trainSel, labels, C, opts.trainLimit, opts.seed, 'train-limit');
    notes.push(`trainLimit: kept ${trainSel.length} of ${before} training images (proportional per class)`);
  }
  if (opts.testLimit !== undefined && opts.testLimit < testSel.length) {
    const before = testSel.length;
    testSel = stratifiedLimit(testSel, labels, C, opts.testLimit, opts.seed, 'test-limit');
    notes.push(`testLimit: kept ${testSel.length} of ${before} test images (proportional per class)`);
  }
  const decode = async (sel: Int32Array, what: string): Promise<ImageSet> => {
    const files = Array.from(sel, (i) => join(imageDir, `${table.images[i]}.jpg`));
    const images = await decodeImageFiles(files, { height: size, width: size, channels: 3, resize: opts.resize ?? DEFAULT_RESIZE_POLICY }, { onProgress: (d, t) => opts.log?.(`isic2019 ${what}: decoded ${d}/${t}`) });
    return { images, labels: Int32Array.from(sel, (i) => labels[i]!), count: sel.length, height: size, width: size, channels: 3, classNames: classNames.slice() };
  };
  const train = await decode(trainSel, 'train');
  const val = await decode(Int32Array.from(va).sort(), 'val');
  const test = await decode(testSel, 'test');
  const { trainLimit: _t, testLimit: _u, ...rest } = opts;
  return finish('isic2019', root, train, val, test, notes, rest);
}

/** Loads a dataset by name; see datasetNames(). */
export async function loadDataset(name: string, opts: LoadDatasetOptions): Promise<DatasetSplits> {
  if (!(datasetNames() as string[]).includes(name))
    throw new Error(`unknown dataset '${name}'; valid names: ${datasetNames().join(', ')}`);
  checkOpts(opts);
  if ((OWN_DATASETS as readonly string[]).includes(name)) return loadOwnDataset(name as OwnDatasetName, opts);
  switch (name as BuiltinDatasetName) {
    case 'embedded':
      return loadEmbedded(opts);
    case 'fmnist-lt':
      return loadFashionMnist(opts);
    case 'cifar10-lt':
    case 'cifar100-lt':
      return loadCifarLt(name as 'cifar10-lt' | 'cifar100-lt', opts);
    case 'imagenet-lt':
      return loadImagenetLt(opts);
    case 'isic2019':
      return loadIsic(opts);
  }
}

export { CIFAR10_CLASS_NAMES };
