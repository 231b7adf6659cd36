// exportRun failure modes: each gives one clear ExportError and leaves an existing model.onnx (and the
// run directory) exactly as it was.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ExportError, exportRun, formatExportResult } from '../../export/export-run.js';
import type { LayerSpec } from '../../models/spec.js';
import { readCheckpoint, writeCheckpoint } from '../../models/artifacts/checkpoint.js';
import { makeRun, type TestRun } from '../helpers/export-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ecl-export-errors-'));
after(() => rmSync(root, { recursive: true, force: true }));

const OLD = Buffer.from('previous model.onnx bytes');
let base: TestRun;
before(async () => {
  base = await makeRun(root, 'resnet8', 3, 'base');
});

/** A copy of the base run with a pre-existing model.onnx. */
function freshRun(name: string): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const ck = readCheckpoint(join(base.dir, 'checkpoint.ckpt'));
  writeCheckpoint(join(dir, 'checkpoint.ckpt'), ck);
  writeFileSync(join(dir, 'model.onnx'), OLD);
  return dir;
}

async function expectExportError(dir: string, pattern: RegExp, opts: Parameters<typeof exportRun>[1] = {}): Promise<void> {
  await assert.rejects(exportRun(dir, opts), (e: unknown) => {
    assert.ok(e instanceof ExportError, `expected ExportError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
  assert.deepEqual(readFileSync(join(dir, 'model.onnx')), OLD, 'existing model.onnx keeps its bytes');
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.ckpt', 'model.onnx'], 'no temporary files left behind');
}

test('truncated checkpoint', async () => {
  const dir = freshRun('truncated');
  const p = join(dir, 'checkpoint.ckpt');
  truncateSync(p, readFileSync(p).length - 100);
  await expectExportError(dir, /corrupt checkpoint .*truncated payload/);
});

test('corrupted payload byte', async () => {
  const dir = freshRun('corrupt');
  const p = join(dir, 'checkpoint.ckpt');
  const buf = readFileSync(p);
  buf[buf.length - 1234] ^= 0x5a;
  writeFileSync(p, buf);
  await expectExportError(dir, /corrupt checkpoint .*checksum mismatch/);
});

test('missing checkpoint', async () => {
  const dir = freshRun('missing');
  rmSync(join(dir, 'checkpoint.ckpt'));
  await assert.rejects(exportRun(dir), /checkpoint not found/);
  assert.deepEqual(readFileSync(join(dir, 'model.onnx')), OLD);
});

test('unknown layer kind in the checkpoint spec', async () => {
  const dir = freshRun('unknown-kind');
  const p = join(dir, 'checkpoint.ckpt');
  const ck = readCheckpoint(p);
  ck.meta.spec.backbone.splice(3, 0, { kind: 'swish', name: 'act_x' } as unknown as LayerSpec);
  writeCheckpoint(p, ck);
  await expectExportError(dir, /layer 'act_x' of kind 'swish' \(in backbone\) has no ONNX mapping/);
});

test('unwritable output path: a regular file used as a directory', async () => {
  const dir = freshRun('unwritable');
  const file = join(dir, 'model.onnx'); // a regular file...
  const out = join(file, 'model.onnx'); // ...used as a directory
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  await expectExportError(dir, new RegExp(`cannot write ${esc(out)}: ENOTDIR: ${esc(file)} is not a directory`), { output: out });
  await expectExportError(dir, /cannot write .*ENOTDIR/, { output: out, validate: false });
});

test('output in a non-existent directory', async () => {
  const dir = freshRun('nodir');
  const out = join(dir, 'no', 'such', 'dir', 'model.onnx');
  await expectExportError(dir, /cannot write .*ENOENT/, { output: out });
  assert.equal(existsSync(join(dir, 'no')), false);
});

test('validation failure: previous model.onnx untouched, temporary file removed', async () => {
  const dir = freshRun('invalid');
  // A stand-in interpreter that "has onnx" but whose checker rejects the model.
  const fake = join(root, 'fake-python.sh');
  writeFileSync(
    fake,
    '#!/bin/sh\ncase "$2" in *check_model*) echo "onnx.onnx_cpp2py_export.checker.ValidationError: simulated rejection" >&2; exit 1;; esac\necho 1.12.0\n',
  );
  chmodSync(fake, 0o755);
  await expectExportError(dir, /did not validate.*\n?.*simulated rejection/s, { validateOptions: { python: fake } });
});

test('a successful export replaces the previous model.onnx', async () => {
  const dir = freshRun('ok');
  const res = await exportRun(dir, { validate: false });
  assert.notDeepEqual(readFileSync(res.path), OLD);
  const summary = formatExportResult(res);
  assert.match(summary, /^wrote .*model\.onnx/);
  assert.match(summary, /opset 17, IR 8, input pixels uint8 \[N,32,32,3\]/);
  assert.match(summary, /validation: off/);
  assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.ckpt', 'model.onnx']);
});
