import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { datasetNames, embeddedDir, loadDataset } from '../../pipeline/data/registry.js';
import { labelsFor, syntheticSet, tempDir, writeCifar10, writeCifar100, writeFashionFolder, writeSolidImage } from '../helpers/data-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
before(async () => ({ dir, cleanup } = await tempDir('registry')));
after(() => cleanup());

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
const countsOf = (labels: Int32Array, C = 10) => Array.from({ length: C }, (_, c) => labels.filter((l) => l === c).length);

describe('dataset registry', () => {
  test('names; unknown name lists the valid ones', async () => {
    assert.deepEqual(datasetNames(), ['embedded', 'fmnist-lt', 'cifar10-lt', 'cifar100-lt', 'imagenet-lt', 'isic2019', 'folder', 'csv']);
    await assert.rejects(loadDataset('mnist-lt', { imbalance: 100, seed: 0 }), {
      message: "unknown dataset 'mnist-lt'; valid names: embedded, fmnist-lt, cifar10-lt, cifar100-lt, imagenet-lt, isic2019, folder, csv",
    });
    await assert.rejects(loadDataset('embedded', { imbalance: 0, seed: 0 }), { message: 'imbalance must be a number >= 1 (1 = balanced), got 0' });
  });

  test('embedded: the shipped long-tail Fashion-MNIST subset', async () => {
    const d = await loadDataset('embedded', { imbalance: 100, seed: 0 });
    assert.equal(d.name, 'embedded');
    assert.equal(d.source, embeddedDir());
    assert.deepEqual(d.classCounts, [1200, 719, 431, 258, 154, 92, 55, 33, 20, 12]);
    assert.equal(d.train.count, 2974);
    assert.deepEqual(d.valCounts, Array(10).fill(50));
    assert.equal(d.test.count, 1000);
    assert.equal(d.train.height, 28);
    assert.equal(d.train.channels, 1);
    assert.equal(d.classNames[0], 'T-shirt/top');
    assert.equal(d.classNames[9], 'Ankle boot');
    assert.deepEqual(d.mean, [0.286]);
    assert.deepEqual(d.std, [0.353]);
    assert.equal(d.imbalanceFactor, 100);
    assert.deepEqual(d.notes, []);
    const small = await loadDataset('embedded', { imbalance: 10, seed: 0, valPerClass: 5, trainLimit: 300, testLimit: 200 });
    assert.equal(small.train.count, 300);
    assert.equal(small.val.count, 50);
    assert.equal(small.test.count, 200);
    assert.ok(small.notes.some((n) => /imbalance 10 ignored/.test(n)));
  });

  test('fmnist-lt from IDX files: long-tail counts, val = a fixed stratified half of the test split, seeded', async () => {
    const root = join(dir, 'fm');
    const w = await writeFashionFolder(root, Array(10).fill(60), 4);
    const d = await loadDataset('fmnist-lt', { imbalance: 10, seed: 1, root, valPerClass: 5 });
    assert.equal(d.source, root);
    assert.deepEqual(d.classCounts, [60, 46, 35, 27, 21, 16, 12, 10, 7, 6]);
    // Every class validates, the head class included (it used all its training images).
    assert.deepEqual(d.valCounts, Array(10).fill(2));
    assert.equal(d.valSplit, 'test-half');
    assert.equal(d.notes.length, 1);
    assert.match(d.notes[0]!, /^validation: a stratified half of the balanced test split \(20 images, 2 per class; fixed seed 16/);
    assert.equal(d.test.count, 20);
    assert.deepEqual(countsOf(d.test.labels), Array(10).fill(2));
    // val and test together are exactly the source test split: every image once.
    const key = (s: typeof d.train, i: number) => Buffer.from(s.images.subarray(i * 64, (i + 1) * 64)).toString('hex') + ':' + s.labels[i];
    const keys = (s: typeof d.train) => Array.from({ length: s.count }, (_, i) => key(s, i));
    assert.deepEqual([...keys(d.val), ...keys(d.test)].sort(), keys(w.test).sort());
    assert.equal(new Set([...keys(d.val), ...keys(d.test)]).size, 40);
    assert.equal(d.train.height, 8);
    const again = await loadDataset('fmnist-lt', { imbalance: 10, seed: 1, root, valPerClass: 5 });
    assert.deepEqual(again.train.images, d.train.images);
    assert.deepEqual(again.val.images, d.val.images);
    // Another run seed: another long-tail sample, the same halves (every method and seed is measured alike).
    const other = await loadDataset('fmnist-lt', { imbalance: 10, seed: 2, root, valPerClass: 5 });
    assert.notDeepEqual(other.train.images, d.train.images);
    assert.deepEqual(other.val.images, d.val.images);
    assert.deepEqual(other.test.images, d.test.images);
    const bal = await loadDataset('fmnist-lt', { imbalance: 1, seed: 1, root, nMax: 50, valPerClass: 10 });
    assert.deepEqual(bal.classCounts, Array(10).fill(50));
    assert.deepEqual(bal.valCounts, Array(10).fill(2));
    // testLimit caps each half (a smoke run evaluates quickly).
    const lim = await loadDataset('fmnist-lt', { imbalance: 10, seed: 1, root, testLimit: 10 });
    assert.equal(lim.val.count, 10);
    assert.equal(lim.test.count, 10);
  });

  test('fmnist-lt: missing folder / file, label out of range', async () => {
    const nowhere = join(dir, 'nowhere');
    await assert.rejects(loadDataset('fmnist-lt', { imbalance: 100, seed: 0, root: nowhere }), { message: `Fashion-MNIST folder not found: ${nowhere}` });
    const root = join(dir, 'fm-partial');
    await mkdir(root, { recursive: true });
    await assert.rejects(loadDataset('fmnist-lt', { imbalance: 100, seed: 0, root }), {
      message: `file not found: ${join(root, 'train-images-idx3-ubyte.gz')} (nor the uncompressed train-images-idx3-ubyte)`,
    });
    const bad = join(dir, 'fm-bad');
    await writeFashionFolder(bad, Array(10).fill(3), 1);
    const { writeIdxPair } = await import('../helpers/data-fixtures.js');
    await writeIdxPair(bad, 't10k', syntheticSet([0, 11], 8, 8, 1, 12), true);
    await assert.rejects(loadDataset('fmnist-lt', { imbalance: 100, seed: 0, root: bad }), /label out of range in .*t10k-labels-idx1-ubyte\.gz: item 1 has label 11 but there are only 10 classes/);
  });

  test('cifar10-lt / cifar100-lt', async () => {
    await assert.rejects(loadDataset('cifar10-lt', { imbalance: 100, seed: 0 }), (e: Error) =>
      /^no root given\. cifar10-lt needs the CIFAR-10 binary version: download https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz/.test(e.message) &&
      /--download/.test(e.message) &&
      /no internet/.test(e.message),
    );
    const empty = join(dir, 'c-empty');
    await mkdir(empty, { recursive: true });
    await assert.rejects(loadDataset('cifar100-lt', { imbalance: 100, seed: 0, root: empty }), /no cifar100 binary batches in .*cifar-100-binary\/test\.bin.*cifar-100-binary\.tar\.gz/);
    const root = join(dir, 'c10');
    await writeCifar10(root, 20, 30); // 10 images per class
    const d = await loadDataset('cifar10-lt', { imbalance: 10, seed: 0, root, valPerClass: 2 });
    assert.deepEqual(d.classCounts, [10, 7, 5, 4, 3, 2, 2, 1, 1, 1]);
    assert.deepEqual(d.valCounts, Array(10).fill(1)); // half of 3 test images per class, rounded down
    assert.equal(d.val.count + d.test.count, 30);
    assert.equal(d.test.count, 20);
    assert.equal(d.train.channels, 3);
    assert.equal(d.classNames[1], 'automobile');
    assert.deepEqual(d.mean, [0.4914, 0.4822, 0.4465]);
    const r100 = join(dir, 'c100');
    await writeCifar100(r100, 1000, 200); // 10 per class
    const e = await loadDataset('cifar100-lt', { imbalance: 10, seed: 0, root: r100, valPerClass: 1 });
    assert.equal(e.classCounts.length, 100);
    assert.equal(e.classCounts[0], 10);
    assert.equal(e.classCounts[99], 1);
    assert.deepEqual(e.std, [0.2673, 0.2564, 0.2762]);
  });

  test('imagenet-lt from list files', async () => {
    const root = join(dir, 'inlt');
    const colours: [number, number, number][] = [
      [250, 0, 0],
      [0, 250, 0],
      [0, 0, 250],
    ];
    const lines: Record<'train' | 'val' | 'test', string[]> = { train: [], val: [], test: [] };
    const counts = { train: [4, 2, 1], val: [1, 1, 1], test: [2, 2, 2] };
    for (const split of ['train', 'val', 'test'] as const) {
      for (let c = 0; c < 3; c++) {
        await mkdir(join(root, split, `n0${c}`), { recursive: true });
        for (let k = 0; k < counts[split][c]!; k++) {
          const rel = `${split}/n0${c}/img${k}.${k % 2 ? 'png' : 'jpg'}`;
          await writeSolidImage(join(root, rel), 20 + k, 16, colours[c]!, k % 2 ? 'png' : 'jpeg');
          lines[split].push(`${rel} ${c}`);
        }
      }
      await writeFile(join(root, `ImageNet_LT_${split}.txt`), lines[split].join('\n') + '\n');
    }
    const d = await loadDataset('imagenet-lt', { imbalance: 100, seed: 0, root, imageSize: 8 });
    assert.deepEqual(d.classCounts, [4, 2, 1]);
    assert.deepEqual(d.valCounts, [1, 1, 1]);
    assert.equal(d.test.count, 6);
    assert.deepEqual(d.classNames, ['n00', 'n01', 'n02']);
    assert.equal(d.train.height, 8);
    assert.equal(d.train.images.length, 7 * 8 * 8 * 3);
    // class 2 (blue) image: blue channel high, red low
    const i = Array.from(d.train.labels).indexOf(2);
    assert.ok(d.train.images[i * 192 + 2]! > 200 && d.train.images[i * 192]! < 50);
    assert.deepEqual(d.mean, [0.485, 0.456, 0.406]);
    const lim = await loadDataset('imagenet-lt', { imbalance: 100, seed: 0, root, imageSize: 8, trainLimit: 4, testLimit: 3 });
    assert.equal(lim.train.count, 4);
    assert.equal(lim.test.count, 3);
    await assert.rejects(loadDataset('imagenet-lt', { imbalance: 100, seed: 0 }), /imagenet-lt needs root/);
    await writeFile(join(root, 'bad.txt'), 'train/n00/img0.jpg 0\ntrain/n00/missing.jpg 0\n');
    await assert.rejects(loadDataset('imagenet-lt', { imbalance: 100, seed: 0, root, trainList: join(root, 'bad.txt'), imageSize: 8 }), {
      message: `file not found: ${join(root, 'train/n00/missing.jpg')}`,
    });
  });

  test('isic2019 from CSV + images', async () => {
    const root = join(dir, 'isic');
    const imgDir = join(root, 'ISIC_2019_Training_Input');
    await mkdir(imgDir, { recursive: true });
    const per = [16, 8, 4, 0]; // MEL, NV, BCC, UNK (empty, dropped)
    const rows = ['image,MEL,NV,BCC,UNK'];
    let n = 0;
    for (const c of labelsFor(per)) {
      const id = `ISIC_${String(n++).padStart(7, '0')}`;
      rows.push(`${id},${[0, 1, 2, 3].map((k) => (k === c ? '1.0' : '0.0')).join(',')}`);
      await writeSolidImage(join(imgDir, `${id}.jpg`), 30, 24, [60 * c, 100, 200 - 50 * c], 'jpeg');
    }
    await writeFile(join(root, 'ISIC_2019_Training_GroundTruth.csv'), rows.join('\n') + '\n');
    const d = await loadDataset('isic2019', { imbalance: 100, seed: 0, root, imageSize: 8, valPerClass: 2 });
    assert.deepEqual(d.classNames, ['MEL', 'NV', 'BCC']);
    assert.ok(d.notes.some((s) => s === 'isic2019: dropped class(es) without images: UNK'));
    // test = min(50, n/4), val = min(2, (n - test)/4), rest trains
    assert.deepEqual(countOf(d.test.labels, 3), [4, 2, 1]);
    assert.deepEqual(d.valCounts, [2, 1, 0]);
    assert.deepEqual(d.classCounts, [10, 5, 3]);
    assert.equal(sum(d.classCounts) + d.val.count + d.test.count, 28);
    // the split is fixed (independent of the seed)
    const again = await loadDataset('isic2019', { imbalance: 100, seed: 5, root, imageSize: 8, valPerClass: 2 });
    assert.deepEqual(again.test.images, d.test.images);
    await assert.rejects(loadDataset('isic2019', { imbalance: 100, seed: 0 }), /isic2019 needs root/);
  });
});

function countOf(labels: Int32Array, C: number): number[] {
  const c = Array(C).fill(0);
  for (const l of labels) c[l]++;
  return c;
}
