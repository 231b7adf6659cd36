// onnxruntime's thread spinning is off by default in `ecl serve` (docs/serving.md): the parsed options, the
// session options handed to onnxruntime, and --ort-spin turning it back on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import yargs from 'yargs';
import { serveOptions, serveOptionsFromArgs, type ServeArgs } from '../../serve/node/options.js';
import { sessionOptionsFor } from '../../serve/node/runner.js';

const parse = (argv: string[]) => serveOptionsFromArgs(serveOptions(yargs(argv).exitProcess(false).fail((m) => { throw new Error(m); }), 'serve', { host: '127.0.0.1', port: 0 }).parseSync() as unknown as ServeArgs);
const spinning = (o: ReturnType<typeof sessionOptionsFor>) => (o as { extra: { session: { intra_op: { allow_spinning: string } } } }).extra.session.intra_op.allow_spinning;

describe('onnxruntime thread spinning', () => {
  test('off unless --ort-spin', () => {
    assert.equal(parse(['--model', 'm.onnx']).ortSpin, false);
    assert.equal(parse(['--model', 'm.onnx', '--ort-spin']).ortSpin, true);
    assert.equal(parse(['--model', 'm.onnx', '--no-ort-spin']).ortSpin, false);
  });
  test('reaches onnxruntime as allow_spinning', () => {
    assert.equal(spinning(sessionOptionsFor(0, false)), '0');
    assert.equal(spinning(sessionOptionsFor(2, true)), '1');
  });
});
