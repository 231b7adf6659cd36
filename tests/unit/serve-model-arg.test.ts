// `ecl serve runs/mine` and `--model runs/mine` serve the run folder's model.onnx (as `ecl export runs/mine` takes
// the folder); a folder without one is a usage error that says how to get it, not EISDIR from the loader.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import yargs from 'yargs';
import { serveCommand } from '../../pipeline/cli/serve.js';
import { ServeUsageError } from '../../serve/node/errors.js';
import { parseModelArg } from '../../serve/node/options.js';

const root = mkdtempSync(join(tmpdir(), 'ecl-model-arg-'));
after(() => rmSync(root, { recursive: true, force: true }));
const run = join(root, 'mine');
mkdirSync(run);
writeFileSync(join(run, 'model.onnx'), 'not parsed here');
const empty = join(root, 'empty');
mkdirSync(empty);

describe('serve: which model a --model argument names', () => {
  test('a run folder stands for its model.onnx, with or without a name', () => {
    assert.deepEqual(parseModelArg(run), { path: join(run, 'model.onnx') });
    assert.deepEqual(parseModelArg(`fast=${run}`), { name: 'fast', path: join(run, 'model.onnx') });
  });
  test('files and missing paths pass through unchanged (the loader reports a missing one)', () => {
    assert.deepEqual(parseModelArg(join(run, 'model.onnx')), { path: join(run, 'model.onnx') });
    assert.deepEqual(parseModelArg(join(root, 'nope.onnx')), { path: join(root, 'nope.onnx') });
  });
  test('a folder without model.onnx: a usage error naming the export command', () => {
    assert.throws(() => parseModelArg(empty), (e: unknown) => e instanceof ServeUsageError && /without model\.onnx: export it first \(ecl export /.test(e.message));
  });
  test('`ecl serve` takes run folders as positionals', async () => {
    let seen: unknown;
    const parser = yargs([])
      .command({ ...serveCommand, handler: (a) => void (seen = a) })
      .exitProcess(false)
      .fail((m) => {
        throw new Error(m);
      });
    await parser.parseAsync(['serve', run, '--model', 'x.onnx', '--port', '0']);
    assert.deepEqual((seen as { models: string[] }).models, [run]);
    assert.deepEqual((seen as { model: string[] }).model, ['x.onnx']);
  });
});
