// The CLI's building blocks without a process: option checks, the run-folder claim (refuse / resume /
// overwrite with roll-back), --config precedence, the GPU pre-check that keeps Dawn quiet, the settings'
// stages, and the shipped sample PNGs (real test images of the embedded subset, pixel for pixel).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { settingsFor, SETTINGS } from '../../models/settings.js';
import { noGpuReason, type GpuHost } from '../../serve/node/gpu-devices.js';
import { intIn, nonNegInt, numberList, posInt, posIntCsv, posNumber, unitInterval } from '../../pipeline/cli/common.js';
import { exitCodeOf, UsageError } from '../../pipeline/cli/errors.js';
import { claimRunFolder } from '../../pipeline/cli/run-folder.js';
import { configFromArgs } from '../../pipeline/cli/train.js';
import { readIdxImageSet } from '../../pipeline/data/idx.js';
import { embeddedDir, FASHION_MNIST_CLASS_NAMES } from '../../pipeline/data/registry.js';
import { DEFAULTS } from '../../pipeline/train/config.js';

const dir = mkdtempSync(join(tmpdir(), 'ecl-cliconv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('number checks accept what they should and name the option otherwise', () => {
  assert.equal(posInt('epochs')(3), 3);
  assert.equal(posInt('epochs')(undefined), undefined);
  assert.equal(posInt('epochs')([2, 5]), 5, 'a repeated option: the last wins');
  assert.throws(() => posInt('epochs')(0), /--epochs must be a positive integer, got 0/);
  assert.throws(() => posInt('epochs')(1.5), /got 1.5/);
  assert.throws(() => posInt('epochs')(Number.NaN), /got a non-number/);
  assert.equal(nonNegInt('seed')(0), 0);
  assert.throws(() => nonNegInt('seed')(-1), /--seed must be an integer >= 0/);
  assert.equal(posNumber('lr')(1e-3), 1e-3);
  for (const bad of [0, -0.1, Number.POSITIVE_INFINITY, Number.NaN]) assert.throws(() => posNumber('lr')(bad), /--lr must be a positive finite number/);
  assert.equal(unitInterval('momentum')(0), 0);
  assert.equal(unitInterval('momentum')(0.99), 0.99);
  assert.throws(() => unitInterval('momentum')(1), /--momentum must be a number in \[0, 1\), got 1/);
  assert.throws(() => intIn('port', 0, 65535)(65536), /--port must be an integer in \[0, 65535\]/);
  assert.deepEqual(numberList('seeds', 'integers >= 0', (x) => Number.isInteger(x) && x >= 0)([1, '2,3']), [1, 2, 3]);
  assert.throws(() => numberList('seeds', 'integers >= 0', (x) => x >= 0)([1, -2]), /--seeds must be integers >= 0, got -2/);
  assert.equal(posIntCsv('connections')('1, 16,64'), '1,16,64');
  assert.throws(() => posIntCsv('connections')('1,0'), /--connections must be comma-separated positive integers/);
});

test('run folder: a used name is refused; --overwrite moves it aside and commits or rolls back', () => {
  const runs = join(dir, 'runs');
  const run = join(runs, 'r');
  // Fresh and empty folders are fine for a new run.
  claimRunFolder(run, 'new').commit();
  mkdirSync(run, { recursive: true });
  claimRunFolder(run, 'new');
  writeFileSync(join(run, 'checkpoint.ckpt'), 'old checkpoint');
  writeFileSync(join(run, 'model.onnx'), 'old model');
  assert.throws(() => claimRunFolder(run, 'new'), (e: unknown) => e instanceof UsageError && /already exists .*--resume.*--overwrite/.test(e.message));
  assert.equal(exitCodeOf(new UsageError('x')), 2);
  claimRunFolder(run, 'resume');
  assert.throws(() => claimRunFolder(join(runs, 'none'), 'resume'), /--resume: no checkpoint/);

  // Failed before any checkpoint: the old run comes back untouched.
  let c = claimRunFolder(run, 'overwrite');
  assert.equal(existsSync(run), false);
  mkdirSync(run);
  writeFileSync(join(run, 'config.json'), '{}');
  c.rollback();
  assert.deepEqual(readdirSync(run).sort(), ['checkpoint.ckpt', 'model.onnx']);
  assert.equal(readFileSync(join(run, 'model.onnx'), 'utf8'), 'old model');

  // Finished: only the new files remain, nothing left aside.
  c = claimRunFolder(run, 'overwrite');
  mkdirSync(run);
  writeFileSync(join(run, 'checkpoint.ckpt'), 'new checkpoint');
  c.commit();
  assert.deepEqual(readdirSync(run), ['checkpoint.ckpt']);
  assert.deepEqual(readdirSync(runs), ['r']);
});

test('--config: the file gives every setting, options given on the command line win, defaults fill the rest', () => {
  const path = join(dir, 'config.json');
  const base = configFromArgs({ dataset: 'embedded', name: 'src', epochs: 3, lr: 0.05, 'batch-size': 64 });
  writeFileSync(path, JSON.stringify(base));
  const replay = configFromArgs({ config: path, name: 'copy', lr: 0.02 });
  assert.deepEqual({ ...replay, name: 'src', lr: 0.05 }, base);
  assert.equal(replay.lr, 0.02);
  const plain = configFromArgs({});
  assert.equal(plain.epochs, DEFAULTS.epochs);
  assert.equal(plain.epochs, 12, 'README and Makefile say 12');
  const makefile = readFileSync(fileURLToPath(new URL('../../../Makefile', import.meta.url)), 'utf8');
  assert.match(makefile, new RegExp(`^EPOCHS \\?= ${DEFAULTS.epochs}$`, 'm'));
  assert.throws(() => configFromArgs({ dataset: 'embedded', name: '../x' }), (e: unknown) => e instanceof UsageError && /run name/.test(e.message));
});

function fakeHost(files: Record<string, string[]>, libs: string[] = [], platform = 'linux'): GpuHost {
  return { platform, list: (d) => files[d] ?? [], exists: (p) => libs.includes(p), libraryPath: '/opt/vk/lib' };
}

test('GPU pre-check: Dawn is not probed without a GPU device or a Vulkan loader', () => {
  assert.match(noGpuReason(fakeHost({ '/dev': ['null', 'tty'] })) ?? '', /no GPU device/);
  assert.match(noGpuReason(fakeHost({ '/dev': ['nvidia0', 'nvidiactl'] })) ?? '', /GPU device \/dev\/nvidia0 but no Vulkan loader/);
  assert.equal(noGpuReason(fakeHost({ '/dev': ['nvidia0'] }, ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1'])), null);
  assert.equal(noGpuReason(fakeHost({ '/dev/dri': ['card0', 'renderD128'] }, ['/opt/vk/lib/libvulkan.so.1'])), null, 'LD_LIBRARY_PATH counts');
  assert.match(noGpuReason(fakeHost({ '/dev': ['nvidiactl'], '/dev/dri': ['card0'] })) ?? '', /no GPU device/, 'control nodes are not GPUs');
  assert.equal(noGpuReason(fakeHost({}, [], 'darwin')), null, 'other platforms: Dawn decides');
});

test('settings: every variable names the stages that read it; each stage lists its own', () => {
  for (const s of SETTINGS) assert.ok(s.stages.length > 0, s.name);
  const names = (st?: string) => settingsFor(st).map((s) => s.name);
  assert.ok(names('train').includes('ECL_WASM_THREADS'));
  assert.ok(!names('train').includes('ECL_ONNX_PYTHON'));
  assert.ok(names('export').includes('ECL_ONNX_PYTHON'));
  assert.ok(names('parity').includes('ECL_CHROMIUM'));
  assert.deepEqual(names('serve'), ['ECL_SERVE_HOST', 'ECL_SERVE_PORT', 'ECL_SERVE_GRPC_PORT', 'ECL_DEBUG']);
  assert.equal(names().length, SETTINGS.length);
});

test('sample PNGs are real test images of the embedded subset, pixel for pixel', async () => {
  const root = embeddedDir();
  const index = JSON.parse(readFileSync(join(root, 'samples', 'samples.json'), 'utf8')) as { samples: { file: string; label: number; testIndex: number }[] };
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { splits: { test: { images: string; labels: string } } };
  const test = await readIdxImageSet(join(root, manifest.splits.test.images), join(root, manifest.splits.test.labels), FASHION_MNIST_CLASS_NAMES);
  assert.ok(index.samples.length >= 3);
  assert.ok(index.samples.some((s) => s.file === 'sneaker.png'), 'the README/Makefile curl example uses sneaker.png');
  const px = test.height * test.width;
  for (const s of index.samples) {
    assert.equal(test.labels[s.testIndex], s.label, s.file);
    assert.equal((await sharp(join(root, 'samples', s.file)).metadata()).channels, 1, `${s.file} is greyscale`);
    // sharp's raw output is sRGB unless asked otherwise.
    const { data, info } = await sharp(join(root, 'samples', s.file)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [test.width, test.height, 1], s.file);
    assert.deepEqual(new Uint8Array(data), test.images.subarray(s.testIndex * px, (s.testIndex + 1) * px), s.file);
  }
});
