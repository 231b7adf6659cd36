// --dataset folder | csv: the user's own images -> DatasetSplits. Discover (own-files.ts) -> stat -> cache
// lookup (image-cache.ts) -> on a miss: check every file's bytes and header, resolve the channel count, decode
// with a progress bar, write the cache -> split (own-split.ts) -> optional long tail -> normalisation constants.
// Nothing is written before the data is known to be good: a failed load leaves no cache file behind.
import { open, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { DEFAULT_RESIZE_POLICY, type ResizePolicy } from '../../models/onnx-contract.js';
import type { ImageDataOptions } from '../../models/artifacts/run-config.js';
import { UsageError } from '../cli/errors.js';
import { createCountProgress } from '../train/progress.js';
import { decodeImageFile, type DecodeSpec } from './decode.js';
import { cacheKey, cachePath, readImageCache, writeImageCache } from './image-cache.js';
import { buildLongTail, stratifiedLimit } from './longtail.js';
import { discoverCsv, discoverFolder, type DiscoveredFiles } from './own-files.js';
import { DEFAULT_IMAGE_SIZE, DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, type OwnDatasetName } from './own-defaults.js';
import { assignSplits, OWN_SPLIT_SEED } from './own-split.js';
import { countPerClass, subsetImageSet, type DatasetSplits, type ImageSet } from './types.js';

/** A source image above this many pixels (from its header) is refused before decoding (bounded memory). */
export const MAX_SOURCE_PIXELS = 100_000_000;
/** All decoded images together stay below this (one Uint8Array; bounded memory). */
export const MAX_DECODED_BYTES = 4 * 1024 ** 3 - 1;

export interface OwnDatasetOptions extends ImageDataOptions {
  imbalance: number;
  seed: number;
  /** folder: the image folder (required); csv: the folder paths are relative to (default: the CSV's folder). */
  root?: string;
  nMax?: number;
  trainLimit?: number;
  testLimit?: number;
  /** Where decoded images are cached (e.g. runs/.cache); absent: no cache. */
  cacheDir?: string;
  log?: (msg: string) => void;
}

type Bad = { index: number; reason: string };

/** A pool of `concurrency` workers over 0..n-1. */
async function forEachPooled(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

function sniff(b: Buffer): 'png' | 'jpeg' | 'webp' | null {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

/** Header check of one file: format by magic bytes, dimensions and channel count from sharp's metadata. */
async function probe(path: string): Promise<{ grey: boolean } | { reason: string }> {
  const head = Buffer.alloc(12);
  try {
    const fh = await open(path, 'r');
    try {
      await fh.read(head, 0, 12, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    return { reason: `cannot read it: ${e instanceof Error ? e.message : String(e)}` };
  }
  const fmt = sniff(head);
  if (!fmt) return { reason: 'not a PNG, JPEG or WebP image (unsupported file)' };
  try {
    const m = await sharp(path).metadata();
    const w = m.width ?? 0;
    const h = m.height ?? 0;
    if (!(w > 0 && h > 0)) return { reason: `${fmt} header has no valid dimensions` };
    if (w * h > MAX_SOURCE_PIXELS) return { reason: `${w}x${h} pixels is above the ${MAX_SOURCE_PIXELS}-pixel limit` };
    return { grey: (m.channels ?? 3) <= 2 };
  } catch (e) {
    return { reason: `corrupt ${fmt} image: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function badError(disc: DiscoveredFiles, bad: Bad[]): UsageError {
  const first = bad[0]!;
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad file(s))` : '';
  return new UsageError(`bad image ${disc.entries[first.index]!.origin}: ${first.reason}${more}; fix or remove it, or pass --skip-bad-images to skip unreadable files`);
}

/** Checks and decodes every file (a cache miss); throws on a bad file unless skipBadImages. */
async function decodeAll(disc: DiscoveredFiles, stats: ({ size: number } | null)[], opts: OwnDatasetOptions, size: number, resize: ResizePolicy) {
  const log = opts.log ?? (() => {});
  const n = disc.entries.length;
  const bad: Bad[] = [];
  const grey = new Array<boolean | undefined>(n);
  stats.forEach((s, i) => {
    if (!s) bad.push({ index: i, reason: 'file not found' });
    else if (s.size === 0) bad.push({ index: i, reason: 'empty file (0 bytes)' });
  });
  const conc = Math.max(4, 2 * sharp.concurrency());
  const isBad = new Set(bad.map((b) => b.index));
  await forEachPooled(n, conc, async (i) => {
    if (isBad.has(i)) return;
    const p = await probe(disc.entries[i]!.path);
    if ('reason' in p) bad.push({ index: i, reason: p.reason });
    else grey[i] = p.grey;
  });
  if (bad.length && !opts.skipBadImages) throw badError(disc, bad.sort((a, b) => a.index - b.index));
  let channels = opts.channels;
  if (channels === undefined) {
    const g = grey.filter((v) => v === true).length;
    const c = grey.filter((v) => v === false).length;
    if (g && c) {
      const eg = disc.entries[grey.indexOf(true)]!.path;
      const ec = disc.entries[grey.indexOf(false)]!.path;
      throw new UsageError(`mixed channel counts: ${g} grey (1-channel) and ${c} colour (3-channel) images (e.g. grey ${eg}, colour ${ec}); pass --channels 1 to train on grey or --channels 3 to train on RGB`);
    }
    channels = g > 0 ? 1 : 3;
  }
  const spec: DecodeSpec = { height: size, width: size, channels, resize };
  const per = size * size * channels;
  const todo = Array.from({ length: n }, (_, i) => i).filter((i) => grey[i] !== undefined);
  if (todo.length * per > MAX_DECODED_BYTES)
    throw new UsageError(`${todo.length} images of ${size}x${size}x${channels} need ${(todo.length * per / 1024 ** 3).toFixed(1)} GiB decoded; the limit is 4 GiB: use a smaller --image-size`);
  const all = new Uint8Array(todo.length * per);
  const ok = new Array<boolean>(todo.length).fill(false);
  const bar = createCountProgress(`decoding ${todo.length} images to ${size}x${size}x${channels}`, todo.length, 'images', log);
  let done = 0;
  try {
    await forEachPooled(todo.length, conc, async (k) => {
      const i = todo[k]!;
      try {
        all.set(await decodeImageFile(disc.entries[i]!.path, spec), k * per);
        ok[k] = true;
      } catch (e) {
        bad.push({ index: i, reason: e instanceof Error ? e.message.replace(`cannot decode image ${disc.entries[i]!.path}: `, 'corrupt image: ') : String(e) });
      }
      bar.update(++done);
    });
  } finally {
    bar.stop();
  }
  bad.sort((a, b) => a.index - b.index);
  if (bad.length && !opts.skipBadImages) throw badError(disc, bad);
  const keep = todo.flatMap((_, k) => (ok[k] ? [k] : []));
  const images = keep.length === todo.length ? all : new Uint8Array(keep.length * per);
  if (images !== all) keep.forEach((k, j) => images.set(all.subarray(k * per, (k + 1) * per), j * per));
  return { height: size, width: size, channels, decoded: keep.map((k) => todo[k]!), bad, images };
}

/** Mean and std per channel of uint8 / 255 over a set (float64 sums). */
export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const C = set.channels;
  const s = new Float64Array(C);
  const s2 = new Float64Array(C);
  const px = set.images;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! / 255;
    s[i % C]! += v;
    s2[i % C]! += v * v;
  }
  const n = px.length / C;
  const mean = Array.from(s, (v) => v / n);
  // A constant channel would divide by 0 in the model: floor the std (1/255, one grey level).
  const std = Array.from(s2, (v, c) => Math.max(Math.sqrt(Math.max(v / n - mean[c]! ** 2, 0)), 1 / 255));
  return { mean, std };
}

export async function loadOwnDataset(name: OwnDatasetName, opts: OwnDatasetOptions): Promise<DatasetSplits> {
  const log = opts.log ?? (() => {});
  const size = opts.imageSize ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(size) || size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE) throw new UsageError(`--image-size must be an integer in [${MIN_IMAGE_SIZE}, ${MAX_IMAGE_SIZE}], got ${size}`);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) throw new UsageError(`--channels must be 1 (grey) or 3 (RGB), got ${String(opts.channels)}`);
  const valF = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  const testF = opts.testFraction ?? DEFAULT_TEST_FRACTION;
  if (!(valF >= 0 && testF >= 0 && valF + testF < 1)) throw new UsageError(`--val-fraction and --test-fraction must be >= 0 and add up to less than 1, got ${valF} and ${testF}`);
  const resize = opts.resize ?? DEFAULT_RESIZE_POLICY;
  let disc: DiscoveredFiles;
  if (name === 'folder') {
    if (!opts.root) throw new UsageError('--dataset folder needs --data-root DIR: a folder with one sub-folder of images per class');
    disc = await discoverFolder(opts.root);
  } else {
    if (!opts.csv) throw new UsageError('--dataset csv needs --csv FILE: a CSV with path,label columns (and optionally split)');
    disc = await discoverCsv(opts.csv, opts.root);
  }
  const source = name === 'folder' ? opts.root! : opts.csv!;
  const notes = disc.notes.slice();
  const C = disc.classNames.length;
  if (C < 2) throw new UsageError(`${source}: found ${C} class (${disc.classNames.join(', ')}); a classifier needs at least 2`);

  const stats = await Promise.all(disc.entries.map((e) => stat(e.path).then((s) => (s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null), () => null)));
  const request = { height: size, width: size, channels: opts.channels ?? ('auto' as const), resize };
  const key = cacheKey({ files: disc.entries.map((e, i) => ({ path: e.path, size: stats[i]?.size ?? -1, mtimeMs: stats[i]?.mtimeMs ?? -1 })), request, skipBadImages: Boolean(opts.skipBadImages) });
  const t0 = performance.now();
  let dec = opts.cacheDir ? readImageCache(cachePath(opts.cacheDir, key), key, (m) => log(`image cache unusable, decoding again: ${m}`)) : null;
  const hit = dec !== null;
  if (dec) log(`image cache hit: ${cachePath(opts.cacheDir!, key)} (${dec.decoded.length} images, ${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  else {
    dec = await decodeAll(disc, stats, opts, size, resize);
    log(`decoded ${dec.decoded.length} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const { channels } = dec;
  const labels = Int32Array.from(dec.decoded, (i) => disc.entries[i]!.label);
  const counts = countPerClass(labels, C);
  const empty = counts.flatMap((n, c) => (n === 0 ? [disc.classNames[c]!] : []));
  if (empty.length) throw new UsageError(`${source}: class(es) ${empty.join(', ')} have no usable images (${dec.bad.length} bad file(s) skipped)`);
  const all: ImageSet = { images: dec.images, labels, count: labels.length, height: size, width: size, channels, classNames: disc.classNames.slice() };

  const sp = assignSplits(labels, dec.decoded.map((i) => disc.entries[i]!.split), C, valF, testF, OWN_SPLIT_SEED);
  let train = subsetImageSet(all, sp.train);
  const val = subsetImageSet(all, sp.val);
  let test = subsetImageSet(all, sp.test);
  const noTrain = countPerClass(train.labels, C).flatMap((n, c) => (n === 0 ? [disc.classNames[c]!] : []));
  if (noTrain.length) throw new UsageError(`${source}: class(es) ${noTrain.join(', ')} have no training images; every class needs at least one`);
  if (test.count === 0) throw new UsageError(`${source}: no test images (${labels.length} images, --test-fraction ${testF}); add images or raise --test-fraction`);
  if (opts.imbalance > 1) {
    const lt = buildLongTail(train.labels, C, { imbalance: opts.imbalance, seed: opts.seed, nMax: opts.nMax, classNames: disc.classNames });
    notes.push(`--imbalance ${opts.imbalance}: long-tail subset of the training split (n_max ${lt.nMax}); validation and test unchanged`, ...lt.notes);
    train = subsetImageSet(train, lt.train);
  }
  const all0 = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  if (opts.trainLimit !== undefined && opts.trainLimit < train.count) {
    notes.push(`trainLimit: kept ${opts.trainLimit} of ${train.count} training images (proportional per class)`);
    train = subsetImageSet(train, stratifiedLimit(all0(train.count), train.labels, C, opts.trainLimit, opts.seed, 'train-limit'));
  }
  if (opts.testLimit !== undefined && opts.testLimit < test.count) {
    notes.push(`testLimit: kept ${opts.testLimit} of ${test.count} test images (proportional per class)`);
    test = subsetImageSet(test, stratifiedLimit(all0(test.count), test.labels, C, opts.testLimit, opts.seed, 'test-limit'));
  }
  let norm: { mean: number[]; std: number[] };
  if (opts.mean || opts.std) {
    if (!opts.mean || !opts.std) throw new UsageError('--mean and --std go together: give both (one value per channel) or neither');
    for (const [k, v] of [['mean', opts.mean], ['std', opts.std]] as const)
      if (v.length !== channels) throw new UsageError(`--${k} has ${v.length} value(s) but the images have ${channels} channel(s)`);
    if (opts.std.some((s) => !(s > 0))) throw new UsageError(`--std values must be > 0, got ${opts.std.join(', ')}`);
    norm = { mean: opts.mean.slice(), std: opts.std.slice() };
  } else norm = channelStats(train);
  const classCounts = countPerClass(train.labels, C);
  const skipped = dec.bad.map((b) => ({ path: disc.entries[b.index]!.path, reason: b.reason }));
  if (skipped.length) notes.push(`--skip-bad-images: skipped ${skipped.length} bad file(s), e.g. ${skipped[0]!.path}: ${skipped[0]!.reason}`);
  if (opts.cacheDir && !hit) {
    // The cache only saves time: a folder that cannot be written is worth a line, not a failed run.
    try {
      log(`image cache written: ${writeImageCache(opts.cacheDir, key, dec)}`);
    } catch (e) {
      log(`warning: image cache not written: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return {
    name,
    source,
    train,
    val,
    test,
    classCounts,
    valCounts: countPerClass(val.labels, C),
    classNames: disc.classNames.slice(),
    mean: norm.mean,
    std: norm.std,
    imbalanceFactor: Math.max(...classCounts) / Math.min(...classCounts),
    notes,
    skippedImages: skipped,
  };
}
