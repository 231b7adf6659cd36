// --dataset folder | csv, without decoding: discovery of folders and CSVs, the stratified split, the profile, the config.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UsageError } from '../../pipeline/cli/errors.js';
import { discoverCsv, discoverFolder } from '../../pipeline/data/own-files.js';
import { assignSplits, formatLongTailProfile, shotGroup, stratifiedSplit } from '../../pipeline/data/own-split.js';
import { resolveConfig } from '../../pipeline/train/config.js';
import { tempDir } from '../helpers/data-fixtures.js';

let dir = '';
let cleanup: () => Promise<void> = async () => {};
before(async () => ({ dir, cleanup } = await tempDir('own-disc')));
after(() => cleanup());

async function touch(...parts: string[]): Promise<string> {
  const p = join(dir, ...parts);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, 'x');
  return p;
}
const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);

describe('folder discovery', () => {
  test('class names are the sorted folder names; nested files count; hidden files and loose files are skipped', async () => {
    await touch('f1', 'zebra', 'a.png');
    await touch('f1', 'apple', 'b.jpg');
    await touch('f1', 'apple', 'sub', 'c.webp');
    await touch('f1', 'apple', '.DS_Store');
    await touch('f1', 'Mango', 'd.png');
    await touch('f1', 'README.md');
    const d = await discoverFolder(join(dir, 'f1'));
    assert.deepEqual(d.classNames, ['Mango', 'apple', 'zebra']);
    assert.deepEqual(
      d.entries.map((e) => [e.path.slice(dir.length + 4), e.label, e.split]),
      [
        ['Mango/d.png', 0, undefined],
        ['apple/b.jpg', 1, undefined],
        ['apple/sub/c.webp', 1, undefined],
        ['zebra/a.png', 2, undefined],
      ],
    );
    assert.equal(d.presplit, false);
    assert.match(d.notes[0]!, /1 file\(s\) directly in .*f1 ignored/);
  });

  test('train/ val/ test/ folders are used as the split; classes come from train/', async () => {
    await touch('f2', 'train', 'cat', '1.png');
    await touch('f2', 'train', 'dog', '2.png');
    await touch('f2', 'val', 'dog', '3.png');
    await touch('f2', 'test', 'cat', '4.png');
    const d = await discoverFolder(join(dir, 'f2'));
    assert.deepEqual(d.classNames, ['cat', 'dog']);
    assert.deepEqual(d.entries.map((e) => [e.label, e.split]), [[0, 'train'], [1, 'train'], [1, 'val'], [0, 'test']]);
    assert.equal(d.presplit, true);
    await touch('f3', 'train', 'cat', '1.png');
    await touch('f3', 'test', 'bird', '2.png');
    await assert.rejects(discoverFolder(join(dir, 'f3')), usage(/class 'bird' has no folder in .*train; every class needs training images/));
    await touch('f4', 'train', 'cat', '1.png');
    await assert.rejects(discoverFolder(join(dir, 'f4')), usage(/has a train\/ folder but no test\/ folder/));
  });

  test('bad folders: missing, empty, a class without images, names differing only in case', async () => {
    await assert.rejects(discoverFolder(join(dir, 'nowhere')), usage(new RegExp(`^data folder not found: ${join(dir, 'nowhere')}$`)));
    await mkdir(join(dir, 'empty'));
    await assert.rejects(discoverFolder(join(dir, 'empty')), usage(/^data folder .*empty is empty: expected one sub-folder per class/));
    await touch('f5', 'cat', '1.png');
    await mkdir(join(dir, 'f5', 'dog'));
    await touch('f5', 'dog', '.hidden.png');
    await assert.rejects(discoverFolder(join(dir, 'f5')), usage(/^class folder .*f5\/dog has no images \(PNG, JPEG or WebP files expected\)$/));
    await touch('f6', 'Cat', '1.png');
    await touch('f6', 'cat', '2.png');
    await assert.rejects(discoverFolder(join(dir, 'f6')), usage(/class names 'Cat' and 'cat' differ only in case or spaces/));
    await touch('f7', 'only-files.png');
    await assert.rejects(discoverFolder(join(dir, 'f7')), usage(/has no class sub-folders/));
  });
});

describe('CSV discovery', () => {
  test('path,label rows: relative to the CSV folder or --data-root; labels sorted; split column', async () => {
    await mkdir(join(dir, 'c1', 'img'), { recursive: true });
    await writeFile(join(dir, 'c1', 'data.csv'), '\ufeffPath, Label ,extra\nimg/a.png,dog,1\n\nimg/b.png , cat ,2\n/abs/c.png,dog,3\n');
    const d = await discoverCsv(join(dir, 'c1', 'data.csv'));
    assert.deepEqual(d.classNames, ['cat', 'dog']);
    assert.deepEqual(d.entries.map((e) => [e.path, e.label]), [[join(dir, 'c1', 'img/a.png'), 1], [join(dir, 'c1', 'img/b.png'), 0], ['/abs/c.png', 1]]);
    assert.match(d.entries[1]!.origin, /data\.csv line 4 \(img\/b\.png\)$/);
    const r = await discoverCsv(join(dir, 'c1', 'data.csv'), join(dir, 'c1', 'img'));
    assert.equal(r.entries[0]!.path, join(dir, 'c1', 'img', 'img/a.png'));
    await writeFile(join(dir, 'c1', 's.csv'), 'path,label,split\na.png,x,train\nb.png,y,TEST\nc.png,y,val\n');
    const s = await discoverCsv(join(dir, 'c1', 's.csv'));
    assert.deepEqual(s.entries.map((e) => e.split), ['train', 'test', 'val']);
    assert.equal(s.presplit, true);
  });

  test('bad CSVs: each one clear error naming the line', async () => {
    const csv = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return join(dir, name);
    };
    await assert.rejects(discoverCsv(join(dir, 'none.csv')), usage(/^CSV file not found: /));
    await assert.rejects(discoverCsv(await csv('nolabel.csv', 'path,class\na.png,x\n')), usage(/has no 'label' column: the header row must name the columns path,label/));
    await assert.rejects(discoverCsv(await csv('norows.csv', 'path,label\n')), usage(/has a header but no rows/));
    await assert.rejects(discoverCsv(await csv('emptylabel.csv', 'path,label\na.png,x\nb.png,\n')), usage(/emptylabel\.csv line 3: empty label for b\.png$/));
    await assert.rejects(discoverCsv(await csv('emptypath.csv', 'path,label\n,x\n')), usage(/emptypath\.csv line 2: empty path$/));
    await assert.rejects(discoverCsv(await csv('dup.csv', 'path,label\na.png,x\nb.png,y\na.png,y\n')), usage(/dup\.csv line 4: a\.png is listed twice \(lines 2 and 4\)/));
    await assert.rejects(discoverCsv(await csv('case.csv', 'path,label\na.png,Dog\nb.png,dog\n')), usage(/class names 'Dog' and 'dog' differ only in case/));
    await assert.rejects(discoverCsv(await csv('split.csv', 'path,label,split\na.png,x,train\nb.png,y,holdout\n')), usage(/split\.csv line 3: split 'holdout' is not one of train, val, test/));
    await assert.rejects(discoverCsv(await csv('notest.csv', 'path,label,split\na.png,x,train\nb.png,y,train\n')), usage(/names no test images/));
    await assert.rejects(discoverCsv(await csv('ragged.csv', 'path,label\na.png,x,extra\n')), usage(/^cannot parse CSV .*ragged\.csv: /));
  });
});

describe('stratified split', () => {
  const labels = [...Array(50).fill(0), ...Array(20).fill(1), ...Array(3).fill(2), 3, ...Array(2).fill(4)];
  test('per-class shares, disjoint and complete, every class keeps a training image', () => {
    const s = stratifiedSplit(labels, 5, 0.1, 0.2, 7);
    const per = (idx: number[]) => [0, 1, 2, 3, 4].map((c) => idx.filter((i) => labels[i] === c).length);
    assert.deepEqual(per(s.test), [10, 4, 1, 0, 0]);
    assert.deepEqual(per(s.val), [5, 2, 0, 0, 0]);
    assert.deepEqual(per(s.train), [35, 14, 2, 1, 2]);
    assert.deepEqual([...s.train, ...s.val, ...s.test].sort((a, b) => a - b), labels.map((_, i) => i));
    // 2 images, 0.4 + 0.4: round(0.8) = 1 each would leave no training image; validation gives way first
    const t = stratifiedSplit([0, 0, 1, 1], 2, 0.4, 0.4, 1);
    assert.equal(t.train.length, 2);
    assert.equal(t.test.length, 2);
    assert.equal(t.val.length, 0);
  });

  test('deterministic for a seed, different for another seed; presets are kept', () => {
    assert.deepEqual(stratifiedSplit(labels, 5, 0.1, 0.2, 7), stratifiedSplit(labels, 5, 0.1, 0.2, 7));
    assert.notDeepEqual(stratifiedSplit(labels, 5, 0.1, 0.2, 7).test, stratifiedSplit(labels, 5, 0.1, 0.2, 8).test);
    const a = assignSplits([0, 0, 1, 1, 0], ['test', undefined, 'val', undefined, 'train'], 2, 0, 0, 1);
    assert.deepEqual(a, { train: [1, 3, 4], val: [2], test: [0] });
    assert.throws(() => stratifiedSplit(labels, 5, 0.5, 0.5, 1), /val \+ test < 1/);
  });
});

describe('long-tail profile', () => {
  test('classes by count with names, imbalance factor, many/medium/few counts', () => {
    const lines = formatLongTailProfile(['ant', 'bee', 'cat', 'dog'], [20, 150, 5, 101]);
    assert.equal(lines[0], 'long-tail profile of the training split: 4 classes, 276 images, imbalance factor 30.0 (max 150 / min 5)');
    assert.equal(lines[1], '  many-shot (>100): 2 classes, medium (20-100): 1, few-shot (<20): 1');
    assert.deepEqual(lines.slice(3).map((l) => l.trim().split(/\s+/)), [['bee', '150', 'many'], ['dog', '101', 'many'], ['ant', '20', 'medium'], ['cat', '5', 'few']]);
    assert.deepEqual([100, 101, 20, 19].map(shotGroup), ['medium', 'many', 'medium', 'few']);
    const many = formatLongTailProfile(Array.from({ length: 60 }, (_, i) => `c${i}`), Array.from({ length: 60 }, (_, i) => 60 - i), { maxRows: 20 });
    assert.equal(many.length, 3 + 20);
    assert.match(many[3 + 14]!, /^  \.\.\. 41 more classes \.\.\.$/);
    assert.match(many.at(-1)!, /^  c59 +1  few$/);
  });
});

describe('run config for folder / csv', () => {
  test('defaults: own counts (imbalance 1), 32 px, resnet32; 28 px trains cnn28; --imbalance kept', () => {
    const c = resolveConfig({ dataset: 'folder', dataRoot: '/data' });
    assert.equal(c.imbalance, 1);
    assert.equal(c.imageSize, 32);
    assert.equal(c.model, 'resnet32');
    assert.equal(c.cropPad, 4);
    const s = resolveConfig({ dataset: 'csv', csv: 'x.csv', imageSize: 28, imbalance: 10 });
    assert.equal(s.model, 'cnn28');
    assert.equal(s.imbalance, 10);
    assert.equal(s.cropPad, 2);
    assert.equal(resolveConfig({ dataset: 'fmnist-lt' }).imbalance, 100);
  });

  test('bad combinations are usage errors', () => {
    assert.throws(() => resolveConfig({ dataset: 'folder' }), usage(/--dataset folder needs --data-root DIR/));
    assert.throws(() => resolveConfig({ dataset: 'csv' }), usage(/--dataset csv needs --csv FILE/));
    assert.throws(() => resolveConfig({ dataset: 'folder', dataRoot: 'd', model: 'cnn28', imageSize: 96 }), usage(/--model cnn28 takes images up to 64 px .* not 96: use --model resnet8, resnet20 or resnet32/));
    assert.throws(() => resolveConfig({ dataset: 'folder', dataRoot: 'd', imageSize: 4 }), usage(/--image-size must be an integer in \[8, 512\], got 4/));
    assert.throws(() => resolveConfig({ dataset: 'folder', dataRoot: 'd', valFraction: 0.6, testFraction: 0.5 }), usage(/must be below 1/));
    assert.throws(() => resolveConfig({ dataset: 'folder', dataRoot: 'd', mean: [0.5] }), usage(/--mean and --std go together/));
    assert.throws(() => resolveConfig({ dataset: 'folder', dataRoot: 'd', mean: [0.5], std: [0.2], channels: 3 }), usage(/have 1 value\(s\) but --channels is 3/));
    assert.throws(() => resolveConfig({ dataset: 'fmnist-lt', channels: 3 }), usage(/--channels applies to --dataset folder \| csv only \(not fmnist-lt\)/));
    assert.throws(() => resolveConfig({ dataset: 'fmnist-lt', csv: 'x.csv' }), usage(/--csv applies to --dataset csv/));
  });
});
