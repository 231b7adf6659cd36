// Bad input through the real CLI: one clear error line, non-zero exit, nothing partial left behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
const cli = fileURLToPath(new URL('../../pipeline/cli.js', import.meta.url));
let dir;
before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ecl-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
function ecl(args) {
    return new Promise((resolve) => {
        execFile(process.execPath, [cli, ...args], { timeout: 60_000, env: { ...process.env, CI: '1' } }, (err, stdout, stderr) => {
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
        });
    });
}
function assertOneLineError(r, pattern) {
    assert.notEqual(r.code, 0, 'exit code must be non-zero');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
    assert.match(lines[0], /^ecl: /);
    assert.match(lines[0], pattern);
}
const trainArgs = (name, extra) => ['train', '--runs-dir', join(dir, 'runs'), '--name', name, '--epochs', '1', ...extra];
test('unknown dataset', async () => {
    const r = await ecl(trainArgs('a', ['--dataset', 'imagenet-22k', '--backend', 'cpu']));
    assertOneLineError(r, /unknown dataset 'imagenet-22k'/);
    assert.equal(existsSync(join(dir, 'runs', 'a')), false);
});
test('unknown backend', async () => {
    const r = await ecl(trainArgs('b', ['--dataset', 'embedded', '--backend', 'tpu']));
    assertOneLineError(r, /unknown backend 'tpu'/);
    assert.equal(existsSync(join(dir, 'runs', 'b')), false);
});
test('unknown loss and bad numbers', async () => {
    assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--loss', 'focal'])), /unknown loss 'focal'/);
    assertOneLineError(await ecl(trainArgs('c', ['--dataset', 'embedded', '--lr', '-1'])), /lr must be a positive number/);
    assert.equal(existsSync(join(dir, 'runs', 'c')), false);
});
test('missing dataset files', async () => {
    const r = await ecl(trainArgs('d', ['--dataset', 'fmnist-lt', '--data-root', join(dir, 'nowhere'), '--backend', 'cpu']));
    assertOneLineError(r, /not found|no such|does not exist/i);
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
    assertOneLineError(r, /IDX/);
    assert.equal(existsSync(join(dir, 'runs', 'e')), false);
});
test('eval of a missing or corrupt run', async () => {
    assertOneLineError(await ecl(['eval', join(dir, 'runs', 'none')]), /checkpoint not found/);
    const run = join(dir, 'runs', 'corrupt');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'checkpoint.ckpt'), 'ECLCKPT1garbage');
    assertOneLineError(await ecl(['eval', run]), /corrupt checkpoint/);
    assert.deepEqual(readdirSync(run), ['checkpoint.ckpt']);
});
test('unknown stage and missing arguments', async () => {
    const r = await ecl(['frobnicate']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unknown argument|Did you mean|frobnicate/);
    const r2 = await ecl([]);
    assert.notEqual(r2.code, 0);
});
test('loss-probe with a bad file', async () => {
    const f = join(dir, 'probe.json');
    writeFileSync(f, '{"features": 3}');
    assertOneLineError(await ecl(['loss-probe', '--input', f]), /loss-probe input: .*(features|prototypes)/);
    assertOneLineError(await ecl(['loss-probe', '--input', join(dir, 'missing.json')]), /file not found/);
});
//# sourceMappingURL=cli-errors.test.js.map