// Builds the server's container image (deploy/Containerfile) without pulling a base image: the build context is
// assembled here and the image is `FROM scratch`.
//
//   <out>/ctx/rootfs/        this machine's node binary and the shared libraries ldd lists for it and for every
//                            native addon of node_modules (onnxruntime-node, sharp + libvips); /etc/passwd with
//                            the non-root user 1000; /tmp
//   <out>/ctx/node_modules/  `npm ci --omit=dev` of deploy/runtime/package.json + its lock (the server's packages
//                            only, at the root lock's versions), pruned of other platforms' binaries, the unused
//                            onnxruntime-web files, sources, maps and docs; redone only when the lock changes
//   <out>/ctx/app/           package.json (type: module, the project's version), the server's compiled import
//                            graph (pipeline/deploy/server-files.ts), the web app's files
//   <out>/ctx/models/        the baked-in model (--model), else empty: KServe mounts /mnt/models
//
// The CUDA variant (deploy/Containerfile.cuda) is the CPU image plus the CUDA execution provider libraries
// (scripts/install-cuda-ep.mjs, into the staged onnxruntime-node) and, from --cuda-libs, the CUDA runtime.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CUDA_PROVIDER_FILES } from '../../serve/node/ep.js';
import { ORT_WEB_FILES, runtimeDependencies, serverGraphProblems, serverImportGraph, webAppFiles } from './server-files.js';

export interface ImageOptions {
  /** Repository root (holds dist/, deploy/). */
  root: string;
  /** Image tag, e.g. localhost/ecl-serve:latest. */
  tag: string;
  /** Staging folder (default <root>/build/image). */
  out?: string;
  /** Model baked in at /mnt/models/model.onnx. */
  model?: string;
  /** Also build the CUDA variant, tagged cudaTag. */
  cudaTag?: string;
  /** Folder of CUDA runtime libraries (*.so*) copied to /usr/local/cuda/lib64 of the CUDA image. */
  cudaLibs?: string;
  /** A downloaded com.github.asus4.onnxruntime.linux-x64-gpu .tgz for install-cuda-ep.mjs (else npm pack). */
  cudaTarball?: string;
  /** podman executable (default podman). */
  podman?: string;
  log?: (line: string) => void;
}

export interface BuiltImage {
  tag: string;
  bytes: number;
  seconds: number;
}

const run = (cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.error) throw new Error(`${cmd} failed to start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}`);
};

const sha256 = (...files: string[]) => {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(f));
  return h.digest('hex');
};

function copyInto(src: string, dest: string): void {
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
  chmodSync(dest, statSync(src).mode & 0o777);
}

function walk(dir: string, visit: (path: string, isDir: boolean) => boolean | void): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (visit(p, true) !== false) walk(p, visit);
    } else visit(p, false);
  }
}

function bytesUnder(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  walk(p, (f, isDir) => void (!isDir && (n += statSync(f).size)));
  return n;
}

/** Removes from an installed node_modules what the server never loads; returns the bytes freed. */
export function pruneNodeModules(nm: string): number {
  let freed = 0;
  const remove = (p: string) => {
    if (!existsSync(p)) return;
    freed += bytesUnder(p);
    rmSync(p, { recursive: true, force: true });
  };
  // onnxruntime-node ships darwin, win32 and linux-arm64 binaries next to linux-x64's; its install helpers.
  const napi = join(nm, 'onnxruntime-node', 'bin', 'napi-v6');
  for (const os of readdirSync(napi)) {
    if (os !== 'linux') remove(join(napi, os));
    else for (const arch of readdirSync(join(napi, os))) if (arch !== 'x64') remove(join(napi, os, arch));
  }
  for (const p of ['onnxruntime-node/script', 'onnxruntime-node/lib', 'onnxruntime-node/node_modules/adm-zip', 'onnxruntime-web/lib', 'onnxruntime-web/docs', 'protobufjs/cli', '@types'])
    remove(join(nm, p));
  // onnxruntime-web: only what the web app's page loads (the server resolves the package, never imports it).
  const web = join(nm, 'onnxruntime-web', 'dist');
  for (const f of readdirSync(web)) if (!(ORT_WEB_FILES as readonly string[]).includes(f)) remove(join(web, f));
  // Sources, type declarations, source maps and docs (licences stay).
  walk(nm, (p, isDir) => {
    if (isDir) return;
    const f = basename(p);
    if (/\.(map|ts|mts|cts)$/.test(f) || /^(README|CHANGELOG|HISTORY)(\..*)?$/i.test(f) || /\.md$/i.test(f)) remove(p);
  });
  return freed;
}

/** npm ci of deploy/runtime into <ctx> (its node_modules), pruned; skipped when the lock is unchanged. */
function stageNodeModules(root: string, ctx: string, log: (l: string) => void): void {
  const pkg = join(root, 'deploy', 'runtime', 'package.json');
  const lock = join(root, 'deploy', 'runtime', 'package-lock.json');
  const stamp = join(ctx, 'node_modules', '.ecl-runtime-stamp');
  // The stamp names the inputs and this file's pruning rules.
  const want = sha256(pkg, lock, new URL(import.meta.url).pathname);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) {
    log('node_modules: unchanged (deploy/runtime lock), reused');
    return;
  }
  rmSync(join(ctx, 'node_modules'), { recursive: true, force: true });
  copyFileSync(pkg, join(ctx, 'package.json'));
  copyFileSync(lock, join(ctx, 'package-lock.json'));
  log('node_modules: npm ci --omit=dev (deploy/runtime/package-lock.json)');
  // No install scripts: onnxruntime-node's would download CUDA providers, sharp's only checks its binary.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd: ctx, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  const freed = pruneNodeModules(join(ctx, 'node_modules'));
  log(`node_modules: pruned ${(freed / 2 ** 20).toFixed(0)} MiB (other platforms, unused onnxruntime-web files, sources, maps, docs)`);
  writeFileSync(stamp, want);
}

/** Shared libraries `ldd` resolves for these files (absolute host paths, loader included); names it cannot find. */
export function sharedLibraries(files: string[]): { found: Set<string>; missing: Set<string> } {
  const found = new Set<string>();
  const missing = new Set<string>();
  for (const f of files) {
    const out = execFileSync('ldd', [f], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const nf = /^\s*(\S+) => not found/.exec(line);
      if (nf) {
        missing.add(nf[1]!);
        continue;
      }
      const m = /(?:=>\s*)?(\/\S+) \(0x/.exec(line);
      // Libraries that live inside node_modules travel with it.
      if (m && !m[1]!.includes('/node_modules/')) found.add(m[1]!);
    }
  }
  return { found, missing };
}

const nativeFiles = (dir: string) => {
  const out: string[] = [];
  if (existsSync(dir)) walk(dir, (p, isDir) => void (!isDir && /\.(node|so(\.\d+)*)$/.test(p) && out.push(p)));
  return out;
};

/** rootfs/: node, its libraries and the addons', a passwd with user 1000, /tmp. */
function stageRootfs(rootfs: string, nodeModules: string, log: (l: string) => void): void {
  rmSync(rootfs, { recursive: true, force: true });
  const node = realpathSync(process.execPath);
  copyInto(node, join(rootfs, 'usr/bin/node'));
  const { found, missing } = sharedLibraries([node, ...nativeFiles(nodeModules)]);
  if (missing.size) throw new Error(`shared libraries not found on this machine: ${[...missing].join(', ')}`);
  // The path the binaries ask for (e.g. /lib64/ld-linux-x86-64.so.2, /lib/x86_64-linux-gnu/libc.so.6), real file behind it.
  for (const lib of found) copyInto(realpathSync(lib), join(rootfs, lib));
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\necl:x:1000:1000:ecl serve:/tmp:/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\necl:x:1000:\n');
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  log(`rootfs: ${node} (${process.version}) + ${found.size} shared libraries`);
}

/** app/: the server's compiled graph, the web app's files and a package.json. */
async function stageApp(root: string, app: string, log: (l: string) => void): Promise<void> {
  rmSync(app, { recursive: true, force: true });
  const graph = await serverImportGraph(root);
  const problems = serverGraphProblems(graph, Object.keys(runtimeDependencies(root)));
  if (problems.length) throw new Error(`the server's import graph is not serve-only:\n  ${problems.join('\n  ')}`);
  const files = new Set([...graph.files, ...webAppFiles(root)]);
  for (const f of files) copyInto(join(root, f), join(app, f));
  // The gRPC endpoint's service definition, read at run time (when the checkout has it).
  const proto = join(root, 'serve/node/proto');
  if (existsSync(proto)) cpSync(proto, join(app, 'serve/node/proto'), { recursive: true });
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  // type: module makes node load dist/ as ES modules; the version is what /v2 reports.
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: `${rootPkg.name}-serve`, version: rootPkg.version, private: true, type: 'module' }, null, 2)}\n`);
  log(`app: ${graph.files.length} server modules, ${files.size - graph.files.length} web app files; packages ${graph.packages.join(', ')}`);
}

function imageBytes(podman: string, tag: string): number {
  return Number(execFileSync(podman, ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' }).trim());
}

/** Assembles the build context and runs podman build (and the CUDA variant when asked). */
export async function buildImages(o: ImageOptions): Promise<BuiltImage[]> {
  const log = o.log ?? (() => {});
  const podman = o.podman ?? 'podman';
  const out = resolve(o.out ?? join(o.root, 'build', 'image'));
  const ctx = join(out, 'ctx');
  mkdirSync(ctx, { recursive: true });
  if (o.model !== undefined) {
    if (!existsSync(o.model) || !statSync(o.model).isFile()) throw new Error(`model not found: ${o.model} (export a run first: ecl export runs/<name>)`);
    if (!/\.onnx$/i.test(o.model)) throw new Error(`--model must be an .onnx file, got ${o.model}`);
  }
  const t0 = Date.now();
  stageNodeModules(o.root, ctx, log);
  stageRootfs(join(ctx, 'rootfs'), join(ctx, 'node_modules'), log);
  await stageApp(o.root, join(ctx, 'app'), log);
  rmSync(join(ctx, 'models'), { recursive: true, force: true });
  mkdirSync(join(ctx, 'models'));
  if (o.model) copyFileSync(o.model, join(ctx, 'models', 'model.onnx'));
  log(`model: ${o.model ? `${o.model} -> /mnt/models/model.onnx` : 'none baked in (mount one at /mnt/models)'}`);
  const containerfile = join(o.root, 'deploy', 'Containerfile');
  // FROM scratch + COPY only: no RUN step, so no build container (chroot isolation works where others do not).
  run(podman, ['build', '--isolation', 'chroot', '--layers', '-f', containerfile, '-t', o.tag, ctx]);
  const built: BuiltImage[] = [{ tag: o.tag, bytes: imageBytes(podman, o.tag), seconds: (Date.now() - t0) / 1000 }];
  if (o.cudaTag) built.push(buildCudaImage(o, podman, out, log));
  return built;
}

/** deploy/Containerfile.cuda on top of the CPU image: the CUDA provider libraries and the CUDA runtime from --cuda-libs. */
function buildCudaImage(o: ImageOptions, podman: string, out: string, log: (l: string) => void): BuiltImage {
  const t0 = Date.now();
  const ctx = join(out, 'ctx-cuda');
  rmSync(ctx, { recursive: true, force: true });
  // install-cuda-ep.mjs installs next to an onnxruntime-node binding: a stand-in with the staged package's
  // package.json and binding; the provider files it adds go to cuda-ep/.
  const ortDir = join(ctx, 'ort');
  const staged = join(out, 'ctx', 'node_modules', 'onnxruntime-node');
  const bin = join('bin', 'napi-v6', 'linux', 'x64');
  copyInto(join(staged, 'package.json'), join(ortDir, 'package.json'));
  copyInto(join(staged, bin, 'onnxruntime_binding.node'), join(ortDir, bin, 'onnxruntime_binding.node'));
  run(process.execPath, [join(o.root, 'scripts', 'install-cuda-ep.mjs'), '--ort-dir', ortDir, ...(o.cudaTarball ? ['--tarball', o.cudaTarball] : [])]);
  const ep = join(ctx, 'cuda-ep');
  for (const f of CUDA_PROVIDER_FILES) copyInto(join(ortDir, bin, f), join(ep, f));
  rmSync(ortDir, { recursive: true, force: true });
  mkdirSync(join(ctx, 'cuda-libs'));
  if (o.cudaLibs) {
    for (const f of readdirSync(o.cudaLibs)) if (/\.so(\.\d+)*$/.test(f)) copyInto(realpathSync(join(o.cudaLibs, f)), join(ctx, 'cuda-libs', f));
  }
  // Libraries of the providers: the system ones this machine has go into the image; CUDA's come from --cuda-libs.
  const { found, missing } = sharedLibraries(nativeFiles(ep));
  const baseRootfs = join(out, 'ctx', 'rootfs');
  mkdirSync(join(ctx, 'rootfs'));
  for (const lib of found) if (!lib.includes('/cuda') && !existsSync(join(baseRootfs, lib))) copyInto(realpathSync(lib), join(ctx, 'rootfs', lib));
  const cudaHave = new Set(readdirSync(join(ctx, 'cuda-libs')));
  const cudaNeeded = [...missing, ...[...found].filter((l) => l.includes('/cuda')).map((l) => basename(l))];
  // libcuda.so.1 is the driver's: the NVIDIA container runtime mounts it from the node.
  const lacking = cudaNeeded.filter((l) => l !== 'libcuda.so.1' && !cudaHave.has(l));
  // cuDNN is opened at run time (ldd does not list it).
  if (![...cudaHave].some((f) => f.startsWith('libcudnn'))) lacking.push('libcudnn*.so.9 (cuDNN 9)');
  if (lacking.length)
    log(`cuda: WARNING the image lacks ${lacking.join(', ')} (CUDA 13 runtime; pass CUDA_LIBS=<dir>): without them --ep auto falls back to the CPU`);
  run(podman, ['build', '--isolation', 'chroot', '--layers', '-f', join(o.root, 'deploy', 'Containerfile.cuda'), '--build-arg', `BASE=${o.tag}`, '-t', o.cudaTag!, ctx]);
  log(`cuda: providers ${readdirSync(ep).join(', ')}; ${cudaHave.size} CUDA runtime libraries from ${o.cudaLibs ?? '(none)'}`);
  return { tag: o.cudaTag!, bytes: imageBytes(podman, o.cudaTag!), seconds: (Date.now() - t0) / 1000 };
}
