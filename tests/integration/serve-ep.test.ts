// serve/node/ep.ts (execution provider choice), serve/node/model-info.ts, and scripts/install-cuda-ep.mjs.
// On a machine without a GPU: auto falls back to CPU with a reason, cuda/webgpu fail clearly.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EpUnavailableError, createSession, cudaProviderStatus, epOrder, loadOrt, parseEpChoice, zeroFeeds } from '../../serve/node/ep.js';
import { defaultModelName, modelInfoFromSession, readModelMetadataProps } from '../../serve/node/model-info.js';
import { REPO_ROOT, type ServeModel, makeServeModel } from '../helpers/serve-helpers.js';

let root: string;
let model: ServeModel;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecl-serve-ep-'));
  model = await makeServeModel(root, { name: 'fmnist-ep' });
});
after(() => rmSync(root, { recursive: true, force: true }));

const gpuHere = existsSync('/proc/driver/nvidia/version');

describe('execution provider choice', () => {
  it('choices and order: auto = cuda then cpu', () => {
    assert.deepEqual(epOrder('auto'), ['cuda', 'cpu']);
    assert.deepEqual(epOrder('webgpu'), ['webgpu']);
    assert.equal(parseEpChoice('CPU'), 'cpu');
    assert.throws(() => parseEpChoice('tpu'), /unknown execution provider 'tpu'/);
  });

  it('cpu loads and runs (from a path and from bytes)', async () => {
    for (const src of [model.modelPath, new Uint8Array(readFileSync(model.modelPath))]) {
      const { session, ep, tried } = await createSession(src, { ep: 'cpu' });
      try {
        assert.equal(ep, 'cpu');
        assert.deepEqual(tried, [{ ep: 'cpu', ok: true, reason: 'loaded' }]);
        const out = await session.run(zeroFeeds(session, await loadOrt()));
        assert.deepEqual(out.probs!.dims, [1, 10]);
      } finally {
        await session.release();
      }
    }
  });

  it('auto reports what loaded and why the others did not', { skip: gpuHere && 'a GPU is present' }, async () => {
    const lines: string[] = [];
    const { session, ep, tried } = await createSession(model.modelPath, { ep: 'auto', log: (l) => lines.push(l) });
    await session.release();
    assert.equal(ep, 'cpu');
    assert.equal(tried.length, 2);
    assert.equal(tried[0]!.ep, 'cuda');
    assert.equal(tried[0]!.ok, false);
    if (!cudaProviderStatus().present) assert.match(tried[0]!.reason, /CUDA provider not installed .*make cuda-ep/);
    else assert.match(tried[0]!.reason, /Failed to load|CUDA|cuda/);
    assert.deepEqual(tried[1], { ep: 'cpu', ok: true, reason: 'loaded' });
    assert.match(lines.join('\n'), /ep cuda: (unavailable|failed): [\s\S]*ep cpu: loaded/);
  });

  it('cuda requested explicitly fails with a clear error (no silent CPU fallback)', { skip: gpuHere && 'a GPU is present' }, async () => {
    await assert.rejects(createSession(model.modelPath, { ep: 'cuda' }), (e: unknown) => {
      assert.ok(e instanceof EpUnavailableError);
      assert.match(e.message, /no execution provider could load the model with --ep cuda: cuda: /);
      assert.deepEqual(
        e.tried.map((t) => [t.ep, t.ok]),
        [['cuda', false]],
      );
      return true;
    });
  });

  it('webgpu either really loads or fails with the reason', async () => {
    try {
      const { session, ep } = await createSession(model.modelPath, { ep: 'webgpu' });
      await session.release();
      assert.equal(ep, 'webgpu');
    } catch (e) {
      assert.ok(e instanceof EpUnavailableError);
      assert.match(e.message, /--ep webgpu: webgpu: .+/);
    }
  });

  it('a corrupt model fails on every provider with the loader message', async () => {
    const bad = join(root, 'corrupt.onnx');
    writeFileSync(bad, readFileSync(model.modelPath).subarray(0, 1000));
    await assert.rejects(createSession(bad, { ep: 'cpu' }), /--ep cpu: cpu: .+/);
  });
});

describe('model info', () => {
  it('labels, input contract and outputs from the session and metadata_props', async () => {
    const { session } = await createSession(model.modelPath, { ep: 'cpu' });
    try {
      const info = modelInfoFromSession(session, model.modelPath);
      assert.equal(info.name, 'fmnist-ep');
      assert.deepEqual(info.labels, model.labels);
      assert.equal(info.numClasses, 10);
      assert.deepEqual(info.input, { name: 'pixels', height: 28, width: 28, channels: 1, layout: 'NHWC', dtype: 'uint8' });
      assert.deepEqual(
        info.outputs.map((o) => [o.name, o.type, o.shape]),
        [
          ['logits', 'float32', ['N', 10]],
          ['probs', 'float32', ['N', 10]],
        ],
      );
      assert.equal(info.metadata.input_layout, 'NHWC');
      assert.equal(modelInfoFromSession(session, model.modelPath, { name: 'custom' }).name, 'custom');
    } finally {
      await session.release();
    }
  });

  it('default names and read errors', () => {
    assert.equal(defaultModelName('/x/runs/fmnist-lt-la-ce/model.onnx'), 'fmnist-lt-la-ce');
    assert.equal(defaultModelName('/x/other model.onnx'), 'other_model');
    assert.throws(() => readModelMetadataProps(join(root, 'missing.onnx')), /cannot read model .*: file not found/);
  });
});

describe('scripts/install-cuda-ep.mjs', () => {
  const script = join(REPO_ROOT, 'scripts', 'install-cuda-ep.mjs');
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

  /** A fake onnxruntime-node folder and a fake package tarball with the same layout as the real one. */
  function fakes(version: string) {
    const dir = mkdtempSync(join(root, 'cuda-'));
    const ort = join(dir, 'onnxruntime-node');
    const bin = join(ort, 'bin', 'napi-v6', 'linux', 'x64');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(ort, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version }));
    writeFileSync(join(bin, 'onnxruntime_binding.node'), 'binding');
    const pkg = join(dir, 'src', 'package', 'Plugins', 'Linux', 'x64');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'libonnxruntime_providers_cuda.so'), 'fake cuda provider');
    writeFileSync(join(pkg, 'libonnxruntime_providers_shared.so'), 'fake shared provider');
    const tgz = join(dir, 'pkg.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'src'), 'package']);
    return { ort, bin, tgz };
  }

  it('explains itself on platforms other than linux-x64', () => {
    const r = run([], { ECL_CUDA_EP_PLATFORM: 'darwin-arm64' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /nothing to do on darwin-arm64: .*only for linux-x64/);
  });

  it('refuses another onnxruntime-node version', () => {
    const f = fakes('1.22.0');
    const r = run(['--ort-dir', f.ort, '--tarball', f.tgz], { ECL_CUDA_EP_PLATFORM: 'linux-x64' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /onnxruntime-node is 1\.22\.0, but these CUDA providers are built for 1\.29\.0/);
  });

  it('refuses files that do not match the pinned hashes', () => {
    const f = fakes('1.29.0');
    const r = run(['--ort-dir', f.ort, '--tarball', f.tgz], { ECL_CUDA_EP_PLATFORM: 'linux-x64' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not match the pinned/);
    assert.ok(!existsSync(join(f.bin, 'libonnxruntime_providers_cuda.so')));
  });

  it('installs both libraries from the package layout, then is idempotent', () => {
    const f = fakes('1.29.0');
    const args = ['--ort-dir', f.ort, '--tarball', f.tgz, '--skip-hash-check'];
    const r1 = run(args, { ECL_CUDA_EP_PLATFORM: 'linux-x64' });
    assert.equal(r1.status, 0, r1.stderr);
    assert.match(r1.stdout, /libonnxruntime_providers_cuda\.so: installed/);
    assert.equal(readFileSync(join(f.bin, 'libonnxruntime_providers_cuda.so'), 'utf8'), 'fake cuda provider');
    assert.equal(readFileSync(join(f.bin, 'libonnxruntime_providers_shared.so'), 'utf8'), 'fake shared provider');
    const mtime = statSync(join(f.bin, 'libonnxruntime_providers_cuda.so')).mtimeMs;
    const r2 = run(args, { ECL_CUDA_EP_PLATFORM: 'linux-x64' });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /libonnxruntime_providers_cuda\.so: already up to date/);
    assert.match(r2.stdout, /nothing to do/);
    assert.equal(statSync(join(f.bin, 'libonnxruntime_providers_cuda.so')).mtimeMs, mtime);
  });
});
