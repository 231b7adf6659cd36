// --dataset folder | csv end to end through loadDataset: real Fashion-MNIST PNGs and generated JPEGs, decoding,
// channels, normalisation, --imbalance, the decoded-image cache, and bad input.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { UsageError } from '../../pipeline/cli/errors.js';
import { longTailCounts } from '../../pipeline/data/longtail.js';
import { channelStats } from '../../pipeline/data/own-dataset.js';
import { loadDataset, type LoadDatasetOptions } from '../../pipeline/data/registry.js';
import { tempDir } from '../helpers/data-fixtures.js';
import { embeddedTrain, FMNIST_FOLDER_NAMES, writeCsv, writeFmnistPngs, writeRgbJpegs } from '../helpers/own-data-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
before(async () => ({ dir, cleanup } = await tempDir('own-load')));
after(() => cleanup());

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);
const base = (o: Partial<LoadDatasetOptions>): LoadDatasetOptions => ({ imbalance: 1, seed: 1, imageSize: 28, ...o });

describe('folder of real Fashion-MNIST PNGs', () => {
  let root = '';
  before(async () => {
    root = join(dir, 'fm');
    await writeFmnistPngs(root, [40, 20, 10]);
  });

  test('classes, split, grey channel from the data, pixels unchanged at their own size, normalisation from train', async () => {
    const d = await loadDataset('folder', base({ root }));
    assert.equal(d.name, 'folder');
    assert.deepEqual(d.classNames, [FMNIST_FOLDER_NAMES[2], FMNIST_FOLDER_NAMES[0], FMNIST_FOLDER_NAMES[1]].sort());
    assert.equal(d.train.channels, 1);
    assert.equal(d.train.height, 28);
    assert.equal(d.train.count + d.val.count + d.test.count, 70);
    // 10% / 10% per class: 40 -> 4/4, 20 -> 2/2, 10 -> 1/1
    assert.equal(d.test.count, 7);
    assert.equal(d.val.count, 7);
    assert.deepEqual([...d.classCounts].sort((a, b) => b - a), [32, 16, 8]);
    assert.equal(d.imbalanceFactor, 4);
    // every decoded image is one of the embedded originals, byte for byte (28 px in, 28 px out: no resampling)
    const src = await embeddedTrain();
    const originals = new Set<string>();
    for (let i = 0; i < src.count; i++) originals.add(Buffer.from(src.images.subarray(i * 784, (i + 1) * 784)).toString('base64'));
    for (let i = 0; i < d.test.count; i++) assert.ok(originals.has(Buffer.from(d.test.images.subarray(i * 784, (i + 1) * 784)).toString('base64')), `test image ${i}`);
    const st = channelStats(d.train);
    assert.deepEqual(d.mean, st.mean);
    assert.deepEqual(d.std, st.std);
    let sum = 0;
    for (const v of d.train.images) sum += v / 255;
    assert.ok(Math.abs(d.mean[0]! - sum / d.train.images.length) < 1e-12);
    assert.ok(d.mean[0]! > 0.1 && d.mean[0]! < 0.6, `Fashion-MNIST mean ${d.mean[0]}`);
    const again = await loadDataset('folder', base({ root }));
    assert.deepEqual(again.test.labels, d.test.labels);
    assert.deepEqual(again.test.images, d.test.images);
    const given = await loadDataset('folder', base({ root, mean: [0.5], std: [0.25], imageSize: 16 }));
    assert.deepEqual(given.mean, [0.5]);
    assert.deepEqual(given.std, [0.25]);
    assert.equal(given.train.width, 16);
    await assert.rejects(loadDataset('folder', base({ root, mean: [0.5], std: [0.25], channels: 3 })), usage(/^--mean has 1 value\(s\) but the images have 3 channel\(s\)$/));
    const rgb = await loadDataset('folder', base({ root, channels: 3 }));
    assert.equal(rgb.train.channels, 3);
    assert.deepEqual(Array.from(rgb.test.images.subarray(0, 3 * 784)).filter((_, i) => i % 3 === 0), Array.from(d.test.images.subarray(0, 784)), 'grey expanded to RGB');
  });

  test('--imbalance builds a long tail on the training split only', async () => {
    const d = await loadDataset('folder', base({ root, imbalance: 8, seed: 3 }));
    const own = await loadDataset('folder', base({ root }));
    assert.deepEqual(d.test.labels, own.test.labels);
    assert.deepEqual(d.classCounts, longTailCounts(Math.max(...own.classCounts), 3, 8).map((n, c) => Math.min(n, own.classCounts[c]!)));
    assert.ok(d.notes.some((n) => /--imbalance 8: long-tail subset of the training split/.test(n)));
  });

  test('cache: hit on the second load, miss after a file changes, a damaged file is re-decoded', async () => {
    const cacheDir = join(dir, 'cache1');
    const logs: string[] = [];
    const log = (l: string) => logs.push(l);
    const first = await loadDataset('folder', base({ root, cacheDir, log }));
    assert.ok(logs.some((l) => l.startsWith('image cache written: ')), logs.join('\n'));
    assert.equal((await readdir(join(cacheDir, 'datasets'))).length, 1);
    logs.length = 0;
    const second = await loadDataset('folder', base({ root, cacheDir, log }));
    assert.ok(logs.some((l) => l.startsWith('image cache hit: ')), logs.join('\n'));
    assert.ok(!logs.some((l) => l.startsWith('decoding')));
    assert.deepEqual(second.train.images, first.train.images);
    assert.deepEqual(second.mean, first.mean);
    // another decode request is another key
    logs.length = 0;
    await loadDataset('folder', base({ root, cacheDir, log, imageSize: 20 }));
    assert.ok(logs.some((l) => l.startsWith('image cache written: ')));
    // change one image (new bytes, new mtime): a miss, and the new pixels are used
    const cls = FMNIST_FOLDER_NAMES[0]!;
    const file = join(root, cls, (await readdir(join(root, cls))).sort()[0]!);
    await sharp(Buffer.alloc(784, 255), { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(file);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    logs.length = 0;
    const third = await loadDataset('folder', base({ root, cacheDir, log }));
    assert.ok(logs.some((l) => /^decoded 70 images/.test(l)), logs.join('\n'));
    const all = (s: typeof third) => [s.train, s.val, s.test].flatMap((p) => Array.from({ length: p.count }, (_, i) => p.images.subarray(i * 784, (i + 1) * 784).every((v) => v === 255)));
    assert.equal(all(third).filter(Boolean).length, 1);
    assert.equal(all(first).filter(Boolean).length, 0);
    // truncate every cache file: unusable, decoded again, rewritten
    for (const f of await readdir(join(cacheDir, 'datasets'))) await truncate(join(cacheDir, 'datasets', f), 100);
    logs.length = 0;
    const fourth = await loadDataset('folder', base({ root, cacheDir, log }));
    assert.ok(logs.some((l) => l.startsWith('image cache unusable, decoding again: ')), logs.join('\n'));
    assert.deepEqual(fourth.train.images, third.train.images);
    // a cache folder that cannot be created costs a warning, not the run
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    logs.length = 0;
    const fifth = await loadDataset('folder', base({ root, cacheDir: join(blocker, 'cache'), log }));
    assert.ok(logs.some((l) => l.startsWith('warning: image cache not written: ')), logs.join('\n'));
    assert.deepEqual(fifth.train.images, third.train.images);
  });
});

describe('bad input', () => {
  test('mixed channel counts: one error with the counts; --channels settles it', async () => {
    const root = join(dir, 'mixed');
    await writeFmnistPngs(root, [6, 5]);
    await writeRgbJpegs(root, FMNIST_FOLDER_NAMES[1]!, 3, [[40, 30], [30, 40], [50, 50]]);
    await assert.rejects(
      loadDataset('folder', base({ root })),
      usage(/^mixed channel counts: 11 grey \(1-channel\) and 3 colour \(3-channel\) images \(e\.g\. grey .*\.png, colour .*rgb0\.jpg\); pass --channels 1 to train on grey or --channels 3 to train on RGB$/),
    );
    const d = await loadDataset('folder', base({ root, channels: 3 }));
    assert.equal(d.train.channels, 3);
    assert.equal(d.train.count + d.val.count + d.test.count, 14);
  });

  test('0-byte, unsupported and corrupt files: an error naming the file; --skip-bad-images skips and counts them; no cache left', async () => {
    const root = join(dir, 'bad');
    await writeFmnistPngs(root, [6, 6]);
    const [a, b] = FMNIST_FOLDER_NAMES as [string, string];
    const cacheDir = join(dir, 'cache-bad');
    await writeFile(join(root, a, 'zero.png'), '');
    await assert.rejects(loadDataset('folder', base({ root, cacheDir })), usage(new RegExp(`^bad image ${join(root, a, 'zero.png')}: empty file \\(0 bytes\\); fix or remove it, or pass --skip-bad-images`)));
    await rm(join(root, a, 'zero.png'));
    await writeFile(join(root, b, 'notes.txt'), 'hello');
    await assert.rejects(loadDataset('folder', base({ root, cacheDir })), usage(/^bad image .*notes\.txt: not a PNG, JPEG or WebP image \(unsupported file\)/));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).gif().toFile(join(root, b, 'anim.gif'));
    await assert.rejects(loadDataset('folder', base({ root, cacheDir })), usage(/^bad image .*anim\.gif: not a PNG, JPEG or WebP image \(unsupported file\) \(and 1 more bad file\(s\)\)/));
    // a PNG cut short: its header reads, its pixels do not
    const good = await sharp(Buffer.from(Array.from({ length: 784 }, (_, i) => (i * 37) & 255)), { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    await writeFile(join(root, a, 'cut.png'), good.subarray(0, Math.floor(good.length / 2)));
    assert.equal(existsSync(cacheDir), false, 'a failed load writes no cache');
    const d = await loadDataset('folder', base({ root, cacheDir, skipBadImages: true }));
    assert.deepEqual(d.skippedImages!.map((s) => s.path.slice(root.length + 1)).sort(), [`${a}/cut.png`, `${b}/anim.gif`, `${b}/notes.txt`]);
    assert.equal(d.train.count + d.val.count + d.test.count, 12);
    assert.ok(d.notes.some((n) => n.startsWith('--skip-bad-images: skipped 3 bad file(s)')));
    await rm(join(root, b, 'anim.gif'));
    await rm(join(root, b, 'notes.txt'));
    await rm(cacheDir, { recursive: true });
    await assert.rejects(loadDataset('folder', base({ root, cacheDir })), usage(new RegExp(`^bad image ${join(root, a, 'cut.png')}: corrupt (png )?image: .*; fix or remove it`)));
    assert.equal(existsSync(cacheDir), false, 'a failed load writes no cache');
  });

  test('CSV: a missing file is an error naming the line; a split column is followed; a class without usable images', async () => {
    const root = join(dir, 'csvdata');
    const imgs = await writeFmnistPngs(join(root, 'img'), [5, 5]);
    await writeCsv(join(root, 'all.csv'), imgs, (_, i) => (i % 5 === 0 ? 'test' : i % 5 === 1 ? 'val' : 'train'));
    const d = await loadDataset('csv', base({ csv: join(root, 'all.csv') }));
    assert.deepEqual([d.train.count, d.val.count, d.test.count], [6, 2, 2]);
    assert.deepEqual(d.classNames, [FMNIST_FOLDER_NAMES[0], FMNIST_FOLDER_NAMES[1]].sort());
    await writeCsv(join(root, 'missing.csv'), [...imgs, { ...imgs[0]!, path: join(root, 'img', 'gone.png') }]);
    await assert.rejects(loadDataset('csv', base({ csv: join(root, 'missing.csv') })), usage(/^bad image .*missing\.csv line 12 \(img\/gone\.png\): file not found; fix or remove it/));
    await writeCsv(join(root, 'onlybad.csv'), [...imgs, { ...imgs[0]!, label: 'ghost', path: join(root, 'img', 'gone.png') }]);
    await assert.rejects(loadDataset('csv', base({ csv: join(root, 'onlybad.csv'), skipBadImages: true })), usage(/class\(es\) ghost have no usable images \(1 bad file\(s\) skipped\)/));
    await assert.rejects(loadDataset('csv', base({})), usage(/^--dataset csv needs --csv FILE/));
    await assert.rejects(loadDataset('folder', base({})), usage(/^--dataset folder needs --data-root DIR/));
  });
});
