// The checkpoint format (models/artifacts/checkpoint.ts): a change of any one byte — header or weights — is
// refused before anything is used; format 1 files still load; temp files of killed writers are cleaned up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeStaleTempFiles, writeFileAtomic } from '../../models/artifacts/atomic-write.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../models/artifacts/checkpoint.js';
import { buildModelSpec, initParams } from '../../models/builders.js';

function sample(): Checkpoint {
  const spec = buildModelSpec('cnn28', { numClasses: 10, input: { height: 28, width: 28, channels: 1, mean: [0.286], std: [0.353] } });
  const params = initParams(spec, 3);
  return {
    meta: { version: 1, spec, config: { dataset: 'embedded', epochs: 4 }, epoch: 3, step: 120, backend: 'wasm', classNames: ['a'], classCounts: [5], createdAt: new Date(0).toISOString() },
    params,
    optimizer: new Map([...params].slice(0, 2).map(([n, p]) => [n, { shape: p.shape, data: p.data.map((v) => v / 2) }])),
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'ecl-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('checkpoint format', () => {
  const bytes = encodeCheckpoint(sample());

  it('round-trips spec, config, position and every tensor', () => {
    const ck = decodeCheckpoint(bytes);
    const ref = sample();
    assert.deepEqual(ck.meta, ref.meta);
    for (const [n, p] of ref.params) assert.deepEqual(ck.params.get(n)?.data, p.data, n);
    assert.equal(ck.optimizer.size, 2);
  });

  it('a one-byte change anywhere is refused as corrupt (header fields, weights, the digest itself)', () => {
    const text = bytes.toString('latin1');
    const positions = [
      8, // header length
      text.indexOf('"mean":[0.286]') + 10, // the stored normalisation: 0.286 -> 0.686 silently ruined eval and export
      text.indexOf('"epoch":3') + 8, // 3 -> 2 made --resume train an extra epoch
      ...Array.from({ length: 40 }, (_, i) => Math.floor(((i + 0.5) * bytes.length) / 40)),
      bytes.length - 1,
    ];
    for (const p of positions) {
      const bad = Buffer.from(bytes);
      bad[p] = bad[p] === 0x37 ? 0x32 : bad[p]! ^ 0x04;
      assert.throws(() => decodeCheckpoint(bad, 'x.ckpt'), /corrupt checkpoint x\.ckpt: /, `byte ${p} of ${bytes.length}`);
    }
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100), 'x.ckpt'), /truncated payload/);
    assert.throws(() => decodeCheckpoint(Buffer.from('not a checkpoint at all'), 'x.ckpt'), /bad magic/);
  });

  it('still reads format 1 files (payload digest only)', () => {
    const hlen = bytes.readUInt32LE(8);
    const v1 = Buffer.concat([Buffer.from('ECLCKPT1', 'ascii'), bytes.subarray(8, bytes.length - 32)]);
    assert.equal(v1.length, 12 + hlen + (bytes.length - 32 - 12 - hlen));
    assert.deepEqual(decodeCheckpoint(v1).meta, sample().meta);
    // The trailer really is the sha256 of everything before it.
    assert.deepEqual(bytes.subarray(bytes.length - 32), createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest());
  });
});

describe('temp files of interrupted writes', () => {
  it("removes a dead writer's temp files and keeps a live one's and everything else", () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    assert.ok(deadPid > 0);
    const names = {
      deadCkpt: `.checkpoint.ckpt.${deadPid}.1700000000000.tmp`,
      deadOnnx: `.model.onnx.${deadPid}.1700000000000.partial.onnx`,
      live: `.checkpoint.ckpt.${process.pid}.1700000000000.tmp`,
      other: 'checkpoint.ckpt',
    };
    for (const n of Object.values(names)) writeFileSync(join(tmp, n), 'x');
    const removed = removeStaleTempFiles(tmp).sort();
    assert.deepEqual(removed, [names.deadCkpt, names.deadOnnx].sort());
    assert.ok(!existsSync(join(tmp, names.deadCkpt)) && !existsSync(join(tmp, names.deadOnnx)));
    assert.ok(existsSync(join(tmp, names.live)) && existsSync(join(tmp, names.other)));
    assert.deepEqual(removeStaleTempFiles(join(tmp, 'missing')), []);
  });

  it('writeFileAtomic leaves no temp file on success or on failure', () => {
    writeFileAtomic(join(tmp, 'ok.json'), '{}');
    assert.equal(readFileSync(join(tmp, 'ok.json'), 'utf8'), '{}');
    assert.throws(() => writeFileAtomic(join(tmp, 'no', 'such', 'dir.json'), '{}'), /cannot write/);
  });
});
