// Bad input through the real CLI: one clear error line, the documented exit code (2 usage, 3 runtime; see
// pipeline/cli/errors.ts), nothing partial left behind. Successful exits and exit 1: cli-exit-codes.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecl-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function ecl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000, env: { ...process.env, CI: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function assertOneLineError(r: { code: number; stderr: string }, pattern: RegExp, code = 2): void {
  assert.equal(r.code, code, `exit code ${r.code}, expected ${code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^ecl: /);
  assert.match(lines[0]!, pattern);
}

const trainArgs = (name: string, extra: string[]) => ['train', '--runs-dir', join(dir, 'runs'), '--name', name, '--epochs', '1', ...extra];

test('unknown dataset', async () => {
  const r = await ecl(trainArgs('a', ['--dataset', 'imagenet-22k', '--backend', 'cpu']));
  assertOneLineError(r, /Argument: dataset, Given: "imagenet-22k", Choices: .*"embedded"/);
  assert.equal(existsSync(join(dir, 'runs', 'a')), false);
});

test('unknown backend', async () => {
  const r = await ecl(trainArgs('b', ['--dataset', 'embedded', '--backend', 'tpu']));
  assertOneLineError(r, /Argument: backend, Given: "tpu", Choices: "auto"/);
  assert.equal(existsSync(join(dir, 'runs', 'b')), false);
});

test('unknown loss and bad numbers', async () => {
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--loss', 'focal'])), /Argument: loss, Given: "focal", Choices: .*"la-ce"/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--lr', '-1'])), /--lr must be a positive finite number, got -1/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--lr', 'fast'])), /--lr must be a positive finite number, got a non-number/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--momentum', '1'])), /--momentum must be a number in \[0, 1\), got 1/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--epochs', '2.5'])), /--epochs must be a positive integer, got 2.5/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--batch-size', '1'])), /--batch-size must be an integer >= 2, got 1/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--seed', '-3'])), /--seed must be an integer >= 0, got -3/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--step-epochs', '3', '0'])), /--step-epochs must be positive integers, got 0/);
  assertOneLineError(await ecl(['train', '--runs-dir', join(dir, 'runs'), '--name', 'a b', '--dataset', 'embedded']), /run name 'a b' may only contain/);
  assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--resume'])), /--resume: no checkpoint at/);
  assertOneLineError(await ecl(trainArgs('c', ['--config', join(dir, 'no-such-config.json')])), /--config .*: file not found/);
  writeFileSync(join(dir, 'not-a-config.json'), '[1, 2]');
  assertOneLineError(await ecl(trainArgs('c', ['--config', join(dir, 'not-a-config.json')])), /--config .*: not a run config/);
  assert.equal(existsSync(join(dir, 'runs', 'c')), false);
});

test('missing dataset files', async () => {
  const r = await ecl(trainArgs('d', ['--dataset', 'fmnist-lt', '--data-root', join(dir, 'nowhere'), '--backend', 'cpu']));
  assertOneLineError(r, /not found|no such|does not exist/i, 3);
  assert.equal(existsSync(join(dir, 'runs', 'd')), false);
});

test('corrupt IDX header', async () => {
  const root = join(dir, 'bad-idx');
  mkdirSync(root);
  const bad = Buffer.alloc(64);
  bad.writeUInt32BE(0x12345678, 0);
  for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'])
    writeFileSync(join(root, f), gzipSync(bad));
  const r = await ecl(trainArgs('e', ['--dataset', 'fmnist-lt', '--data-root', root, '--backend', 'cpu']));
  assertOneLineError(r, /IDX/, 3);
  assert.equal(existsSync(join(dir, 'runs', 'e')), false);
});

test('eval of a missing or corrupt run', async () => {
  assertOneLineError(await ecl(['eval', join(dir, 'runs', 'none')]), /checkpoint not found/);
  const run = join(dir, 'runs', 'corrupt');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'checkpoint.ckpt'), 'ECLCKPT1garbage');
  assertOneLineError(await ecl(['eval', run]), /corrupt checkpoint/, 3);
  assert.deepEqual(readdirSync(run), ['checkpoint.ckpt']);
});

test('unknown stage and missing arguments', async () => {
  const r = await ecl(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown argument|Did you mean|frobnicate/);
  const r2 = await ecl([]);
  assert.equal(r2.code, 2);
  assertOneLineError(await ecl(['eval']), /Not enough non-option arguments/);
});

test('loss-probe with a bad file', async () => {
  const f = join(dir, 'probe.json');
  writeFileSync(f, '{"features": 3}');
  assertOneLineError(await ecl(['loss-probe', '--input', f]), /loss-probe input: .*(features|prototypes)/);
  assertOneLineError(await ecl(['loss-probe', '--input', join(dir, 'missing.json')]), /file not found/);
});

test('every stage: a bad option value exits 2 with one line naming the option, before anything loads', async () => {
  const run = join(dir, 'runs', 'none');
  const cases: [string[], RegExp][] = [
    [['eval', run, '--limit', '0'], /--limit must be a positive integer, got 0/],
    [['eval', run, '--backend', 'tpu'], /Argument: backend, Given: "tpu"/],
    [['eval', run], /checkpoint not found: .*none/],
    [['export', run], /checkpoint not found: .*none/],
    [['export-check', run, '--limit', '-5'], /--limit must be a positive integer, got -5/],
    [['export-check', run], /checkpoint not found/],
    [['loss-probe'], /Missing required argument: input/],
    [['serve', '--model', join(dir, 'missing.onnx')], /model not found: .*missing\.onnx/],
    [['serve', '--model', 'x.onnx', '--port', '70000'], /--port must be an integer >= 0 and <= 65535, got 70000/],
    [['serve', '--model', 'x.onnx', '--max-batch', '0'], /--max-batch must be an integer >= 1, got 0/],
    [['serve', '--model', 'x.onnx', '--max-delay-ms', '-1'], /--max-delay-ms must be a finite number >= 0, got -1/],
    [['serve', '--model', 'x.onnx', '--preferred-batch', '0'], /--preferred-batch must be an integer >= 1, got 0/],
    [['serve', '--model', 'x.onnx', '--preferred-batch', 'big'], /--preferred-batch must be 'auto' or an integer >= 1, got "big"/],
    [['serve', '--model', 'x.onnx', '--max-batch', '8', '--preferred-batch', '9'], /--preferred-batch \(9\) must be <= --max-batch \(8\)/],
    [['serve', '--model', 'x.onnx', '--admission-wait-ms', '-2'], /--admission-wait-ms must be a finite number >= 0, got -2/],
    [['serve', '--model', 'x.onnx', '--admission-wait-ms', '0x10'], /--admission-wait-ms must be 'auto' or a finite number >= 0, got "0x10"/],
    [['serve', '--model', 'x.onnx', '--ep', 'tpu'], /Argument: ep, Given: "tpu"/],
    [['bench-serve', '--connections', '1,x'], /--connections must be comma-separated positive integers/],
    [['bench-serve', '--duration', '0'], /--duration must be a positive finite number, got 0/],
    [['bench-serve', '--family', 'vgg'], /Argument: family, Given: "vgg"/],
    [['parity'], /give a run \(ecl parity runs\/<name>\) or --model model\.onnx with --images DIR/],
    [['bench-train', '--models', 'vgg'], /--models: unknown 'vgg'/],
    [['bench-train', '--steps', '0'], /--steps must be a positive integer, got 0/],
    [['bench-train', '--backend', 'tpu'], /Argument: backend, Given: "tpu"/],
    [['study', '--seeds', '-1'], /--seeds must be integers >= 0, got -1/],
    [['study', '--methods', 'focal'], /--methods: unknown 'focal'/],
    [['study', '--dataset', 'mnist'], /Argument: dataset, Given: "mnist"/],
    [['study', '--parallel', '0'], /--parallel must be a positive integer, got 0/],
  ];
  for (const [args, pattern] of cases) assertOneLineError(await ecl(args), pattern);
  assert.equal(existsSync(run), false);
});

test('--help of ecl and of every stage: examples, environment variables, exit codes', async () => {
  const top = await ecl(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Examples:/);
  assert.match(top.stdout, /ECL_WASM_THREADS \[train, eval, export-check, parity, bench-train, study\]/);
  assert.match(top.stdout, /Exit codes:\n +0 +ok\n +1 .*check.*\n +2 +usage error.*\n +3 +runtime error/);
  const stages = ['train', 'eval', 'export', 'export-check', 'loss-probe', 'serve', 'bench-serve', 'bench-train', 'study'];
  for (const st of stages) {
    const h = await ecl([st, '--help']);
    assert.equal(h.code, 0, st);
    assert.match(h.stdout, /Examples:\n +ecl /, `${st} --help has examples`);
    assert.match(h.stdout, /Environment variables/, `${st} --help lists its variables`);
    assert.match(h.stdout, /ECL_DEBUG/, st);
    // Every option has a description: no option line that is only its name and type.
    for (const line of h.stdout.split('\n')) assert.doesNotMatch(line, /^ {2}--[\w-]+ +\[(string|number|boolean|array)\]/, `${st}: undescribed option: ${line}`);
  }
  const train = await ecl(['train', '--help']);
  assert.match(train.stdout, /Data:\n/);
  assert.match(train.stdout, /Optimisation:\n/);
  assert.match(train.stdout, /--epochs +training epochs +\[number\] \[default: 12\]/);
  assert.match(train.stdout, /ECL_WASM_THREADS/);
  assert.doesNotMatch(train.stdout, /ECL_CHROMIUM/, 'train does not list parity-only variables');
  const exp = await ecl(['export', '--help']);
  assert.match(exp.stdout, /ECL_ONNX_PYTHON/);
  assert.doesNotMatch(exp.stdout, /ECL_WASM_THREADS/);
});
