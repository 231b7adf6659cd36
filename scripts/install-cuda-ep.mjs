#!/usr/bin/env node
// `make cuda-ep`: installs the CUDA 13 execution provider libraries for onnxruntime-node 1.29.0.
//
// onnxruntime-node ships the CPU and WebGPU providers; its own installer can fetch CUDA 12 providers from
// NuGet (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node). For CUDA 13 we take the provider
// libraries built for the same onnxruntime release (1.29.0) from the npm package
// com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 and copy
//   Plugins/Linux/x64/libonnxruntime_providers_{cuda,shared}.so
// next to onnxruntime_binding.node (node_modules/onnxruntime-node/bin/napi-v6/linux/x64/).
//
// Idempotent: files already present with the pinned size and sha256 are left alone (nothing is
// downloaded). Plain JavaScript so it runs right after `npm ci`, before any build.
//
// Options:
//   --tarball <file>     use an already downloaded .tgz of the package instead of `npm pack`
//   --ort-dir <dir>      onnxruntime-node package folder (default: resolved from this project)
//   --force              reinstall even when the files are present
//   --skip-hash-check    accept files whose sha256 differs from the pinned one (testing only)
// Env: ECL_CUDA_EP_PLATFORM=<platform-arch> overrides the detected platform (testing only).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ORT_VERSION = '1.29.0';
const PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu';
const PACKAGE_VERSION = '0.4.9';
const PATH_IN_PACKAGE = 'package/Plugins/Linux/x64';
/** Pinned from com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (onnxruntime 1.29.0, CUDA 13). */
const FILES = {
  'libonnxruntime_providers_cuda.so': { size: 229780440, sha256: '56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037' },
  'libonnxruntime_providers_shared.so': { size: 14632, sha256: 'c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772' },
};

const say = (s) => process.stdout.write(`cuda-ep: ${s}\n`);
const fail = (s, code = 1) => {
  process.stderr.write(`cuda-ep: error: ${s}\n`);
  process.exit(code);
};

function parseArgs(argv) {
  const o = { tarball: null, ortDir: null, force: false, skipHash: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tarball') o.tarball = argv[++i];
    else if (a === '--ort-dir') o.ortDir = argv[++i];
    else if (a === '--force') o.force = true;
    else if (a === '--skip-hash-check') o.skipHash = true;
    else if (a === '--help' || a === '-h') {
      say('usage: node scripts/install-cuda-ep.mjs [--tarball file.tgz] [--ort-dir dir] [--force]');
      process.exit(0);
    } else fail(`unknown option ${a}`, 2);
  }
  return o;
}

function sha256(path) {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

async function matches(path, want) {
  if (!existsSync(path)) return false;
  if (statSync(path).size !== want.size) return false;
  return (await sha256(path)) === want.sha256;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const platform = process.env.ECL_CUDA_EP_PLATFORM || `${process.platform}-${process.arch}`;
  if (platform !== 'linux-x64') {
    say(`nothing to do on ${platform}: onnxruntime-node's CUDA execution provider exists only for linux-x64.`);
    say('on this platform `ecl serve --ep auto` uses the CPU provider (and --ep webgpu where a GPU adapter exists).');
    return;
  }

  let ortDir = opts.ortDir;
  if (!ortDir) {
    try {
      ortDir = resolve(createRequire(join(process.cwd(), 'package.json')).resolve('onnxruntime-node/package.json'), '..');
    } catch {
      fail('onnxruntime-node is not installed here (run `npm ci` first)');
    }
  }
  const pkgJson = join(ortDir, 'package.json');
  if (!existsSync(pkgJson)) fail(`${ortDir} is not an onnxruntime-node package (no package.json)`);
  const version = JSON.parse(readFileSync(pkgJson, 'utf8')).version;
  if (version !== ORT_VERSION)
    fail(
      `onnxruntime-node is ${version}, but these CUDA providers are built for ${ORT_VERSION}; provider libraries must match the runtime exactly.\n` +
        `  pin onnxruntime-node to ${ORT_VERSION}, or for CUDA 12 use its own installer: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`,
    );
  const dest = join(ortDir, 'bin', 'napi-v6', 'linux', 'x64');
  if (!existsSync(join(dest, 'onnxruntime_binding.node'))) fail(`${dest} has no onnxruntime_binding.node: is onnxruntime-node installed for linux-x64?`);

  if (!opts.force && !opts.skipHash) {
    const present = await Promise.all(Object.entries(FILES).map(([f, want]) => matches(join(dest, f), want)));
    if (present.every(Boolean)) {
      say(`already installed: ${Object.keys(FILES).join(', ')} in ${dest} (size and sha256 match ${PACKAGE}@${PACKAGE_VERSION}); nothing to do`);
      return;
    }
  }

  const tmp = mkdtempSync(join(tmpdir(), 'ecl-cuda-ep-'));
  try {
    let tgz = opts.tarball ? resolve(opts.tarball) : null;
    if (tgz && !existsSync(tgz)) fail(`--tarball ${tgz} does not exist`);
    if (!tgz) {
      say(`downloading ${PACKAGE}@${PACKAGE_VERSION} with npm pack (about 180 MB)...`);
      try {
        execFileSync('npm', ['pack', `${PACKAGE}@${PACKAGE_VERSION}`, '--silent', '--pack-destination', tmp], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
      } catch (e) {
        fail(`npm pack ${PACKAGE}@${PACKAGE_VERSION} failed (${e.message}); is the npm registry reachable? You can download the .tgz elsewhere and pass --tarball`);
      }
      const found = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
      if (!found) fail('npm pack produced no .tgz');
      tgz = join(tmp, found);
    }
    const members = Object.keys(FILES).map((f) => `${PATH_IN_PACKAGE}/${f}`);
    try {
      execFileSync('tar', ['-xzf', tgz, '-C', tmp, ...members], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      fail(`cannot extract ${members.join(', ')} from ${tgz}: ${String(e.stderr ?? e.message).trim()}`);
    }
    let changed = 0;
    for (const [f, pinned] of Object.entries(FILES)) {
      const src = join(tmp, PATH_IN_PACKAGE, f);
      const got = { size: statSync(src).size, sha256: await sha256(src) };
      if (!opts.skipHash && (got.size !== pinned.size || got.sha256 !== pinned.sha256))
        fail(`${f} from ${tgz} does not match the pinned ${PACKAGE}@${PACKAGE_VERSION} (sha256 ${got.sha256}, expected ${pinned.sha256})`);
      const target = join(dest, f);
      if (!opts.force && (await matches(target, got))) {
        say(`${f}: already up to date`);
        continue;
      }
      const part = `${target}.${process.pid}.part`;
      copyFileSync(src, part);
      chmodSync(part, 0o755);
      renameSync(part, target);
      changed++;
      say(`${f}: installed (${got.size >= 1e6 ? `${(got.size / 1e6).toFixed(1)} MB` : `${got.size} bytes`}) -> ${dest}`);
    }
    say(changed ? 'done.' : 'nothing to do.');
    say('the CUDA provider needs an NVIDIA driver, the CUDA 13 runtime (cudart, cublas, cublasLt, curand, cufft) and cuDNN 9 on the library path;');
    say('check with: ecl serve --model runs/<name>/model.onnx --ep cuda   (or --ep auto, which falls back to CPU and says why)');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => fail(e instanceof Error ? e.message : String(e)));
