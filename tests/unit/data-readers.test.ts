import assert from 'node:assert/strict';
import sharp from 'sharp';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseCifarBatch, readCifar } from '../../pipeline/data/cifar.js';
import { extractTar } from '../../pipeline/data/download.js';
import { encodeIdx, readIdxImages, readIdxImageSet, readIdxLabels } from '../../pipeline/data/idx.js';
import { classNamesFromLists, loadImageList, parseImageList, readImageList } from '../../pipeline/data/imagelist.js';
import { parseIsicCsv, readIsicCsv } from '../../pipeline/data/isic.js';
import { decodeImageFile } from '../../pipeline/data/decode.js';
import { syntheticSet, tempDir, writeCifar10, writeCifar100, writeIdxPair, writeSolidImage } from '../helpers/data-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
before(async () => ({ dir, cleanup } = await tempDir('readers')));
after(() => cleanup());

describe('IDX reader', () => {
  const set = syntheticSet([3, 1, 4, 1, 5, 9, 2, 6], 5, 4, 1, 10);

  for (const gz of [true, false]) {
    test(`reads ${gz ? 'gzipped' : 'raw'} images and labels`, async () => {
      const d = join(dir, gz ? 'idx-gz' : 'idx-raw');
      await mkdir(d, { recursive: true });
      const p = await writeIdxPair(d, 'train', set, gz);
      const im = await readIdxImages(p.images);
      assert.equal(im.count, 8);
      assert.equal(im.height, 5);
      assert.equal(im.width, 4);
      assert.deepEqual(im.images, set.images);
      assert.deepEqual(await readIdxLabels(p.labels), set.labels);
      const s = await readIdxImageSet(p.images, p.labels, set.classNames);
      assert.equal(s.channels, 1);
      assert.deepEqual(s.labels, set.labels);
      assert.deepEqual(s.images, set.images);
    });
  }

  test('missing file', async () => {
    const p = join(dir, 'nope-images-idx3-ubyte.gz');
    await assert.rejects(readIdxImages(p), { message: `file not found: ${p}` });
  });

  test('corrupt magic names the file and the magic', async () => {
    const p = join(dir, 'badmagic.gz');
    const buf = encodeIdx(set.images, [8, 5, 4]);
    buf.writeUInt32BE(0x00000802, 0);
    await writeFile(p, gzipSync(buf));
    await assert.rejects(readIdxImages(p), { message: `corrupt IDX header in ${p}: magic 0x00000802 (expected 0x00000803)` });
    // a label file passed as images
    const q = join(dir, 'labels-as-images');
    await writeFile(q, encodeIdx(Uint8Array.from(set.labels), [8]));
    await assert.rejects(readIdxImages(q), /corrupt IDX header in .*labels-as-images: magic 0x00000801 \(expected 0x00000803\)/);
  });

  test('truncated data and truncated gzip', async () => {
    const p = join(dir, 'trunc');
    const buf = encodeIdx(set.images, [8, 5, 4]);
    await writeFile(p, buf.subarray(0, buf.length - 7));
    await assert.rejects(readIdxImages(p), { message: `truncated IDX file ${p}: header declares 8x5x4 = 160 data bytes but only 153 are present` });
    const q = join(dir, 'trunc.gz');
    const gz = gzipSync(buf);
    await writeFile(q, gz.subarray(0, gz.length - 20));
    await assert.rejects(readIdxImages(q), (e: Error) => e.message.startsWith(`corrupt gzip data in ${q}:`));
    const r = join(dir, 'tiny');
    await writeFile(r, Buffer.from([0, 0]));
    await assert.rejects(readIdxImages(r), { message: `corrupt IDX header in ${r}: file has only 2 bytes` });
  });

  test('label out of range and count mismatch', async () => {
    const d = join(dir, 'idx-bad');
    await mkdir(d, { recursive: true });
    const p = await writeIdxPair(d, 'x', syntheticSet([0, 1, 12], 2, 2, 1, 13), false);
    await assert.rejects(readIdxLabels(p.labels, 10), { message: `label out of range in ${p.labels}: item 2 has label 12 but there are only 10 classes (0..9)` });
    const q = await writeIdxPair(d, 'y', syntheticSet([0, 1], 2, 2, 1, 10), false);
    await assert.rejects(readIdxImageSet(p.images, q.labels, set.classNames), /IDX count mismatch: .* has 3 images but .* has 2 labels/);
  });
});

describe('CIFAR reader', () => {
  test('CIFAR-10: 5 data batches + test batch, CHW -> HWC, class names from batches.meta.txt', async () => {
    const root = join(dir, 'c10');
    const w = await writeCifar10(root, 3, 4);
    const r = await readCifar('cifar10', root);
    assert.equal(r.dir, join(root, 'cifar-10-batches-bin'));
    assert.equal(r.train.count, 15);
    assert.equal(r.test.count, 4);
    assert.deepEqual(r.train.images, w.train.images);
    assert.deepEqual(r.train.labels, w.train.labels);
    assert.deepEqual(r.test.labels, w.test.labels);
    assert.equal(r.train.classNames[9], 'truck');
    assert.equal(r.train.channels, 3);
    // the batch folder itself works as root too
    assert.equal((await readCifar('cifar10', join(root, 'cifar-10-batches-bin'))).train.count, 15);
  });

  test('CHW -> HWC layout of one record', () => {
    const rec = new Uint8Array(1 + 3072);
    rec[0] = 7;
    rec[1 + 0] = 10; // R of pixel 0
    rec[1 + 1024] = 20; // G of pixel 0
    rec[1 + 2048 + 33] = 30; // B of pixel (1, 1)
    const b = parseCifarBatch(rec, 1, 10, 'mem');
    assert.deepEqual(Array.from(b.images.subarray(0, 3)), [10, 20, 0]);
    assert.equal(b.images[33 * 3 + 2], 30);
    assert.equal(b.labels[0], 7);
  });

  test('CIFAR-100: fine labels, fine_label_names.txt', async () => {
    const root = join(dir, 'c100');
    const w = await writeCifar100(root, 200, 100);
    const r = await readCifar('cifar100', root);
    assert.equal(r.train.count, 200);
    assert.equal(r.train.classNames.length, 100);
    assert.equal(r.train.classNames[42], 'fine42');
    assert.deepEqual(r.train.labels, w.train.labels);
    assert.deepEqual(r.test.images, w.test.images);
  });

  test('wrong length, label out of range, missing batch, missing folder', async () => {
    const root = join(dir, 'c10bad');
    await writeCifar10(root, 2, 2);
    const b2 = join(root, 'cifar-10-batches-bin', 'data_batch_2.bin');
    await writeFile(b2, Buffer.alloc(3073 * 2 + 5));
    await assert.rejects(readCifar('cifar10', root), {
      message: `corrupt CIFAR file ${b2}: length 6151 is not a positive multiple of the 3073-byte record (1 label byte + 3072 pixel bytes)`,
    });
    await writeFile(b2, Buffer.alloc(3074 * 2));
    await assert.rejects(readCifar('cifar10', root), /length 6148 is not a positive multiple .*; it looks like a CIFAR-100 file/);
    const bad = Buffer.alloc(3073);
    bad[0] = 10;
    await writeFile(b2, bad);
    await assert.rejects(readCifar('cifar10', root), { message: `label out of range in ${b2}: record 0 has label 10 but there are only 10 classes (0..9)` });
    const { rm } = await import('node:fs/promises');
    await rm(b2);
    await assert.rejects(readCifar('cifar10', root), { message: `file not found: ${b2}` });
    await assert.rejects(readCifar('cifar10', join(dir, 'nowhere')), { message: `cifar10 data folder not found: ${join(dir, 'nowhere')}` });
  });
});

describe('image decoding, ImageNet-LT lists, ISIC CSV', () => {
  test('decodes PNG/JPEG/grey PNG to size x size RGB (centre crop)', async () => {
    const d = join(dir, 'dec');
    await mkdir(d, { recursive: true });
    await writeSolidImage(join(d, 'a.png'), 40, 20, [200, 10, 30], 'png');
    await writeSolidImage(join(d, 'b.jpg'), 17, 23, [20, 120, 240], 'jpeg');
    await writeSolidImage(join(d, 'g.png'), 9, 9, [77, 0, 0], 'png', true);
    const rgb = (n: number) => ({ height: n, width: n, channels: 3 as const, resize: 'center-crop' as const });
    const a = await decodeImageFile(join(d, 'a.png'), rgb(8));
    assert.equal(a.length, 8 * 8 * 3);
    assert.deepEqual(Array.from(a.subarray(0, 3)), [200, 10, 30]);
    const b = await decodeImageFile(join(d, 'b.jpg'), rgb(8));
    for (const [k, v] of [20, 120, 240].entries()) assert.ok(Math.abs(b[3 * 27 + k]! - v) <= 4, `jpeg channel ${k}: ${b[3 * 27 + k]} vs ${v}`);
    const g = await decodeImageFile(join(d, 'g.png'), rgb(4));
    assert.deepEqual(Array.from(g.subarray(0, 6)), [77, 77, 77, 77, 77, 77]);
    // 1 channel: greyscale; 'stretch' keeps the whole non-square image (left half red, right half blue), 'center-crop' cuts its centre
    const g1 = await decodeImageFile(join(d, 'g.png'), { height: 4, width: 4, channels: 1, resize: 'stretch' });
    assert.deepEqual(Array.from(g1), Array(16).fill(77));
    // 40x10: red columns 0..11, green 12..27, blue 28..39
    const band = (left: number, width: number, r: number, g: number, b: number) => ({ input: { create: { width, height: 10, channels: 3 as const, background: { r, g, b } } }, left, top: 0 });
    await sharp({ create: { width: 40, height: 10, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite([band(0, 12, 255, 0, 0), band(12, 16, 0, 255, 0), band(28, 12, 0, 0, 255)])
      .png()
      .toFile(join(d, 'wide.png'));
    const st = await decodeImageFile(join(d, 'wide.png'), { height: 4, width: 4, channels: 3, resize: 'stretch' });
    const cc = await decodeImageFile(join(d, 'wide.png'), { height: 4, width: 4, channels: 3, resize: 'center-crop' });
    // (sharp's lanczos3 rings a little at the band edges: a few grey levels)
    const near = (px: Uint8Array, want: number[], what: string) => want.forEach((v, k) => assert.ok(Math.abs(px[k]! - v) <= 12, `${what}: ${Array.from(px)} vs ${want}`));
    near(st.subarray(0, 3), [255, 0, 0], 'stretch: left column is red');
    near(st.subarray(9, 12), [0, 0, 255], 'stretch: right column is blue');
    // centre crop: the middle 10x10 only, all green
    for (let p = 0; p < 16; p++) near(cc.subarray(3 * p, 3 * p + 3), [0, 255, 0], `center-crop pixel ${p}`);
    await assert.rejects(decodeImageFile(join(d, 'missing.jpg'), rgb(8)), { message: `file not found: ${join(d, 'missing.jpg')}` });
    await writeFile(join(d, 'junk.jpg'), 'not an image');
    await assert.rejects(decodeImageFile(join(d, 'junk.jpg'), rgb(8)), (e: Error) => e.message.startsWith(`cannot decode image ${join(d, 'junk.jpg')}:`));
  });

  test('ImageNet-LT list + images', async () => {
    const root = join(dir, 'inlt');
    await mkdir(join(root, 'train', 'n01'), { recursive: true });
    await mkdir(join(root, 'train', 'n02'), { recursive: true });
    await writeSolidImage(join(root, 'train', 'n01', 'x1.JPEG'), 30, 20, [250, 0, 0], 'jpeg');
    await writeSolidImage(join(root, 'train', 'n01', 'x2.png'), 10, 10, [240, 10, 10], 'png');
    await writeSolidImage(join(root, 'train', 'n02', 'y1.png'), 12, 16, [0, 0, 250], 'png');
    const listPath = join(root, 'ImageNet_LT_train.txt');
    await writeFile(listPath, 'train/n01/x1.JPEG 0\r\ntrain/n01/x2.png 0\n\ntrain/n02/y1.png 1\n');
    const list = await readImageList(listPath);
    assert.deepEqual(list.paths, ['train/n01/x1.JPEG', 'train/n01/x2.png', 'train/n02/y1.png']);
    assert.deepEqual(Array.from(list.labels), [0, 0, 1]);
    const names = classNamesFromLists([list], 2);
    assert.deepEqual(names, ['n01', 'n02']);
    const set = await loadImageList(list, listPath, root, 6, names);
    assert.equal(set.count, 3);
    assert.equal(set.images.length, 3 * 6 * 6 * 3);
    assert.ok(set.images[0]! > 200 && set.images[2]! < 40);
    assert.ok(set.images[2 * 108 + 2]! > 200 && set.images[2 * 108]! < 40);
    assert.throws(() => parseImageList('a.jpg 0\njustapath\n', 'L'), { message: "bad line 2 in L: expected '<relative/path.jpg> <label>', got 'justapath'" });
    assert.throws(() => parseImageList('a.jpg -1\n', 'L'), { message: "bad label on line 1 in L: '-1' is not a non-negative integer" });
    assert.throws(() => parseImageList('\n# only a comment\n', 'L'), { message: "empty list file L: no '<path> <label>' lines" });
    await assert.rejects(loadImageList(list, listPath, root, 6, ['only-one']), {
      message: `label out of range in ${listPath}: 'train/n02/y1.png' has label 1 but there are only 1 classes`,
    });
    await assert.rejects(readImageList(join(root, 'missing.txt')), { message: `file not found: ${join(root, 'missing.txt')}` });
  });

  test('ISIC 2019 ground-truth CSV', async () => {
    const p = join(dir, 'gt.csv');
    await writeFile(p, 'image,MEL,NV,BCC,UNK\nISIC_1,1.0,0.0,0.0,0.0\nISIC_2,0.0,0.0,1.0,0.0\n');
    const t = await readIsicCsv(p);
    assert.deepEqual(t.classNames, ['MEL', 'NV', 'BCC', 'UNK']);
    assert.deepEqual(t.images, ['ISIC_1', 'ISIC_2']);
    assert.deepEqual(Array.from(t.labels), [0, 2]);
    assert.throws(() => parseIsicCsv('image,MEL,NV\nA,1.0,1.0\n', 'g'), { message: 'bad row 2 in g (A): 2 classes set, expected exactly one' });
    assert.throws(() => parseIsicCsv('image,MEL,NV\nA,1.0\n', 'g'), { message: 'bad row 2 in g: 2 fields, the header has 3' });
    assert.throws(() => parseIsicCsv('image,MEL,NV\nA,yes,0\n', 'g'), { message: "bad row 2 in g (A): column MEL is 'yes', expected 0 or 1" });
    assert.throws(() => parseIsicCsv('name,MEL,NV\n', 'g'), /bad header in ISIC ground-truth CSV g/);
  });
});

test('tar extraction (used by the CIFAR downloader)', async () => {
  const header = (name: string, size: number, type = '0') => {
    const h = Buffer.alloc(512);
    h.write(name, 0);
    h.write(size.toString(8).padStart(11, '0') + '\0', 124);
    h.write(type, 156);
    h.write('ustar\0', 257);
    return h;
  };
  const body = Buffer.from('hello cifar');
  const tar = Buffer.concat([header('cifar-10-batches-bin/', 0, '5'), header('cifar-10-batches-bin/readme.html', body.length), body, Buffer.alloc(512 - body.length), Buffer.alloc(1024)]);
  const d = join(dir, 'tar');
  const files = await extractTar(tar, d);
  assert.deepEqual(files, [join(d, 'cifar-10-batches-bin', 'readme.html')]);
  const { readFile } = await import('node:fs/promises');
  assert.equal(await readFile(files[0]!, 'utf8'), 'hello cifar');
  await assert.rejects(extractTar(Buffer.concat([header('../evil', 0), Buffer.alloc(1024)]), d), /unsafe path in tar archive: \.\.\/evil/);
});
