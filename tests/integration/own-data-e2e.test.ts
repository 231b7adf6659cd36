// The user's own images end to end: an image folder (and the same images through a CSV) of real Fashion-MNIST PNGs
// with long-tail counts plus RGB JPEGs of other sizes and aspect ratios -> `ecl train --dataset folder|csv` (1 epoch)
// -> exportRun -> the server (dist/serve/node/main.js) -> the raw files posted to /v1/classify, checked against the
// training-side decode (decodeImageFile) run through the trained tfjs model: same top-1, probabilities within 1e-4.
// Both sides run the one preprocessing contract (serve/shared/preprocess.ts with the model's resize policy), so
// resized and non-square files agree as well as the ones already at the model size.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { exportRun } from '../../export/export-run.js';
import { openRun } from '../../models/artifacts/run-dir.js';
import { decodeImageFile } from '../../pipeline/data/decode.js';
import { loadRunData } from '../../pipeline/data/run-data.js';
import { runTfjs } from '../../pipeline/parity/runners/tfjs.js';
import { type ChildServer, REPO_ROOT, startChildServer } from '../helpers/serve-helpers.js';
import { FMNIST_FOLDER_NAMES, type WrittenImage, writeCsv, writeFmnistPngs, writeRgbJpegs } from '../helpers/own-data-fixtures.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'dist', 'pipeline', 'cli.js');
const SIZE = 28;
const TOL = 1e-4;

let root = '';
let images: WrittenImage[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ecl-own-e2e-'));
  // long tail over 4 classes (real Fashion-MNIST images), plus colour JPEGs in two classes: wide, tall and square
  images = await writeFmnistPngs(join(root, 'imgs'), [48, 20, 10, 6]);
  images.push(...(await writeRgbJpegs(join(root, 'imgs'), FMNIST_FOLDER_NAMES[0]!, 4, [[40, 30], [24, 56], [50, 50], [33, 21]])));
  images.push(...(await writeRgbJpegs(join(root, 'imgs'), FMNIST_FOLDER_NAMES[2]!, 3, [[64, 48], [30, 60], [45, 45]])));
  await writeCsv(join(root, 'imgs', 'labels.csv'), images);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** `ecl train` on the user's images; returns the run folder and the command's output. */
async function trainCli(name: string, dataArgs: string[]): Promise<{ dir: string; out: string }> {
  const args = [CLI, 'train', ...dataArgs, '--image-size', String(SIZE), '--channels', '3', '--epochs', '1', '--batch-size', '8', '--backend', 'wasm', '--runs-dir', join(root, 'runs'), '--name', name];
  const { stdout, stderr } = await run(process.execPath, args, { maxBuffer: 1 << 24, env: { ...process.env, ECL_WASM_THREADS: '1' } });
  return { dir: join(root, 'runs', name), out: stdout + stderr };
}

interface Served {
  top1: number;
  probs: number[];
}

async function classify(url: string, img: WrittenImage, C: number): Promise<Served> {
  const type = img.path.endsWith('.png') ? 'image/png' : 'image/jpeg';
  const r = await fetch(`${url}/v1/classify?k=${C}`, { method: 'POST', body: new Uint8Array(readFileSync(img.path)), headers: { 'content-type': type } });
  assert.equal(r.status, 200, await r.clone().text());
  const body = (await r.json()) as { results: { predictions: { index: number; probability: number }[] }[] };
  const preds = body.results[0]!.predictions;
  const probs = new Array<number>(C).fill(NaN);
  for (const p of preds) probs[p.index] = p.probability;
  return { top1: preds[0]!.index, probs };
}

/** Server vs the training-side decode through the tfjs model, per image: [top-1 equal, max |Δp|]. */
async function compare(dir: string, url: string, imgs: WrittenImage[]): Promise<{ img: WrittenImage; served: Served; ref: number[]; maxDiff: number }[]> {
  const ck = openRun(dir).checkpoint;
  const spec = ck.meta.spec;
  const C = spec.numClasses;
  const per = SIZE * SIZE * 3;
  const pixels = new Uint8Array(imgs.length * per);
  for (let i = 0; i < imgs.length; i++) pixels.set(await decodeImageFile(imgs[i]!.path, { height: SIZE, width: SIZE, channels: 3, resize: 'center-crop' }), i * per);
  const ref = await runTfjs(spec, ck.params, { images: pixels, labels: new Int32Array(imgs.length), count: imgs.length }, { backend: 'wasm', batchSize: 32 });
  const out = [];
  for (let i = 0; i < imgs.length; i++) {
    const served = await classify(url, imgs[i]!, C);
    const r = Array.from(ref.out.probs.subarray(i * C, (i + 1) * C));
    out.push({ img: imgs[i]!, served, ref: r, maxDiff: Math.max(...r.map((p, k) => Math.abs(p - served.probs[k]!))) });
  }
  return out;
}

const argmax = (a: number[]) => a.indexOf(Math.max(...a));

function assertAgree(rows: Awaited<ReturnType<typeof compare>>): void {
  const bad = rows.filter((r) => argmax(r.ref) !== r.served.top1 || !(r.maxDiff <= TOL));
  assert.deepEqual(
    bad.map((r) => `${r.img.path.slice(root.length)} (${r.img.width}x${r.img.height}): served top-1 ${r.served.top1} vs tfjs ${argmax(r.ref)}, max |dp| ${r.maxDiff.toExponential(2)}`),
    [],
  );
}

for (const kind of ['folder', 'csv'] as const) {
  describe(`--dataset ${kind}: train -> export -> serve -> /v1/classify agrees with tfjs`, () => {
    let dir = '';
    let server: ChildServer | undefined;
    before(async () => {
      const dataArgs = kind === 'folder' ? ['--dataset', 'folder', '--data-root', join(root, 'imgs')] : ['--dataset', 'csv', '--csv', join(root, 'imgs', 'labels.csv')];
      const t = await trainCli(`own-${kind}`, dataArgs);
      dir = t.dir;
      assert.match(t.out, /long-tail profile of the training split: 4 classes, \d+ images, imbalance factor [\d.]+/);
      assert.match(t.out, new RegExp(`  ${FMNIST_FOLDER_NAMES[0]} +\\d+  medium`));
      const res = await exportRun(dir, { validate: false });
      server = await startChildServer(['--model', res.path, '--ep', 'cpu']);
    });
    after(() => server?.proc.kill('SIGTERM'));

    test('the run records its data: eval / export-check / parity rebuild the same test split', async () => {
      const ref = openRun(dir).dataset();
      assert.equal(ref.dataset, kind);
      assert.equal(ref.channels, 3);
      assert.equal(ref.imageSize, SIZE);
      const d = await loadRunData(ref);
      const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
      assert.equal(lines.length, 1);
      const perClass = (JSON.parse(lines[0]!) as { test: { perClass: unknown[] } }).test.perClass;
      assert.equal(perClass.length, 4);
      assert.deepEqual(d.classNames, [...FMNIST_FOLDER_NAMES.slice(0, 4)].sort());
      assert.equal(d.test.count + d.val.count + d.train.count, images.length);
      assert.ok(existsSync(join(root, 'runs', '.cache', 'datasets')), 'decoded images cached under runs/.cache/datasets');
    });

    test('images at the model size (28x28 PNG): same top-1, probabilities within 1e-4', async () => {
      const rows = await compare(dir, server!.url, images.filter((i) => i.width === SIZE && i.height === SIZE));
      assert.equal(rows.length, 48 + 20 + 10 + 6);
      assertAgree(rows);
    });

    test('square JPEGs of other sizes (resized)', async () => {
      assertAgree(await compare(dir, server!.url, images.filter((i) => i.width === i.height && i.width !== SIZE)));
    });

    test('non-square JPEGs (wide and tall)', async () => {
      assertAgree(await compare(dir, server!.url, images.filter((i) => i.width !== i.height)));
    });
  });
}

describe('bad data through the CLI', () => {
  let res: { code: number; stderr: string } = { code: 0, stderr: '' };
  const runs = () => join(root, 'runs-bad');
  before(async () => {
    res = await run(process.execPath, [CLI, 'train', '--dataset', 'folder', '--data-root', join(root, 'imgs'), '--image-size', '28', '--runs-dir', runs(), '--name', 'mixed'], {
      env: { ...process.env, ECL_WASM_THREADS: '1' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
  });

  test('one error naming the problem; no run folder and no cache file left', () => {
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /^ecl: error: mixed channel counts: 84 grey \(1-channel\) and 7 colour \(3-channel\) images .*pass --channels 1 to train on grey or --channels 3 to train on RGB$/m);
    assert.equal(existsSync(runs()), false, 'neither runs/mixed nor runs/.cache exist');
  });

  test('exit code 2 (usage error)', () => {
    assert.equal(res.code, 2);
  });
});
