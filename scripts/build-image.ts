#!/usr/bin/env node
// `make image [MODEL=runs/<name>/model.onnx] [IMAGE=localhost/ecl-serve:latest]` and `make image-cuda
// [CUDA_LIBS=<dir>]`: the server's container image (deploy/Containerfile, pipeline/deploy/image.ts). Needs
// `make build` first, podman, and the npm registry (npm ci of deploy/runtime, once per lock change).
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildImages } from '../pipeline/deploy/image.js';

const a = await yargs(hideBin(process.argv))
  .scriptName('build-image')
  .option('tag', { type: 'string', default: 'localhost/ecl-serve:latest', describe: 'image tag' })
  .option('model', { type: 'string', describe: 'exported model baked in at /mnt/models/model.onnx (default: none, mount one)' })
  .option('cuda-tag', { type: 'string', describe: 'also build the CUDA variant (deploy/Containerfile.cuda) with this tag' })
  .option('cuda-libs', { type: 'string', describe: 'folder of CUDA 13 runtime + cuDNN 9 libraries for the CUDA image' })
  .option('cuda-tarball', { type: 'string', describe: 'downloaded com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz (else npm pack)' })
  .option('out', { type: 'string', default: 'build/image', describe: 'staging folder for the build context' })
  .strict()
  .help()
  .parseAsync();

const root = resolve(new URL('../..', import.meta.url).pathname);
try {
  const built = await buildImages({
    root,
    tag: a.tag,
    out: resolve(a.out),
    ...(a.model ? { model: a.model } : {}),
    ...(a['cuda-tag'] ? { cudaTag: a['cuda-tag'] } : {}),
    ...(a['cuda-libs'] ? { cudaLibs: a['cuda-libs'] } : {}),
    ...(a['cuda-tarball'] ? { cudaTarball: a['cuda-tarball'] } : {}),
    log: (l) => process.stderr.write(`image: ${l}\n`),
  });
  for (const b of built) process.stdout.write(`${b.tag}: ${(b.bytes / 1e6).toFixed(0)} MB (podman image inspect .Size), built in ${b.seconds.toFixed(1)} s\n`);
} catch (e) {
  process.stderr.write(`image: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
