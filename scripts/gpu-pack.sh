#!/usr/bin/env bash
# `make gpu-pack`: what scripts/gpu-check.sh needs on the GPU machine (no npm, no registry there), packed into parts
# small enough to carry one per device call by ../shared/device/pack.sh (docs/gpu-check.md):
#   the tracked project files, dist/ (both programs built), node_modules for linux-x64 without what the check never
#   loads (other platforms' binaries, source maps, the browser-only wasm files, build/test tools), onnxruntime-node's
#   CUDA 13 providers (make cuda-ep: checked here, refused when missing), the demo run (serving), the parity run and
#   Fashion-MNIST's four files (parity on the real 10k test set; unpacked to runs/.gpu-data/fashion-mnist).
# Usage: scripts/gpu-pack.sh
# Env:   PACK_SH (../shared/device/pack.sh)  DEMO_RUN (runs/demo)  PARITY_RUN (runs/fmnist-lt-ecl)
#        FMNIST (/usr/share/datasets/fashion-mnist)  GPU_PACK_NO_CUDA=1 packs without the CUDA providers (to try the
#        packing itself; the CUDA stages then report "skipped: no GPU (CUDA provider not installed)")
#        GPU_PACK_LIST=FILE only writes the list of paths to FILE (no packing)
set -euo pipefail
cd "$(dirname "$0")/.."
pack=${PACK_SH:-../shared/device/pack.sh}
demo=${DEMO_RUN:-runs/demo}
parity=${PARITY_RUN:-runs/fmnist-lt-ecl}
fmnist=${FMNIST:-/usr/share/datasets/fashion-mnist}
fail() { echo "gpu-pack: $*" >&2; exit 2; }

[ -n "${GPU_PACK_LIST:-}" ] || [ -x "$pack" ] || fail "$pack not found (set PACK_SH to the device packer)"
[ -f dist/pipeline/cli.js ] && [ -f dist/serve/web/app.js ] && [ -f dist/scripts/gpu-check-summary.js ] || fail "build first: make build"
[ -f "$demo/model.onnx" ] || fail "$demo/model.onnx missing: make demo"
[ -f "$parity/model.onnx" ] && [ -f "$parity/checkpoint.ckpt" ] || fail "$parity has no checkpoint.ckpt + model.onnx: make train (EPOCHS=1 is enough for parity), then make export RUN=$(basename "$parity")"
ortbin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
if [ -z "${GPU_PACK_NO_CUDA:-}" ]; then
  for f in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
    [ -f "$ortbin/$f" ] || fail "$ortbin/$f missing: make cuda-ep (or GPU_PACK_NO_CUDA=1 to pack without CUDA)"
  done
fi
# Uncompressed (the loader takes either): xz packs the raw images 15% smaller than their gzip files.
data=runs/.gpu-data/fashion-mnist
mkdir -p "$data"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  src=$fmnist/$f.gz
  [ -f "$src" ] || fail "$src missing (apt-get install dataset-fashion-mnist, or FMNIST=<folder with the four *-ubyte.gz>)"
  rm -f "$data/$f.gz"
  gzip -dc "$src" > "$data/$f.tmp" && mv "$data/$f.tmp" "$data/$f"
done

# What the GPU check never loads. Globs are expanded here; a folder that holds one of these is packed child by child.
shopt -s nullglob
excl=(
  node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
  node_modules/onnxruntime-node/bin/napi-v6/linux/arm64
  node_modules/webgpu/dist/darwin-universal node_modules/webgpu/dist/linux-arm64 node_modules/webgpu/dist/win32-*
  node_modules/@tensorflow/*/dist/*.map node_modules/@tensorflow/*/dist/*.min.js node_modules/@tensorflow/*/dist/*.es2017.js
  node_modules/@tensorflow/*/dist/*.fesm.js
  node_modules/typescript node_modules/@stryker-mutator node_modules/playwright-core node_modules/kubernetes-models
  node_modules/dependency-cruiser node_modules/@types
)
# onnxruntime-web is for the browser; the server only resolves its main file and checks that the webgpu bundle exists.
for f in node_modules/onnxruntime-web/dist/*; do
  case ${f##*/} in ort.node.min.js | ort.webgpu.bundle.min.mjs) ;; *) excl+=("$f") ;; esac
done
[ -n "${GPU_PACK_NO_CUDA:-}" ] && excl+=("$ortbin/libonnxruntime_providers_cuda.so")
# Large source maps anywhere else.
while IFS= read -r f; do excl+=("$f"); done < <(find node_modules/ -name '*.map' -size +256k 2>/dev/null)
declare -A skip=() under=()
for e in "${excl[@]}"; do
  skip[$e]=1
  p=$e
  while [[ "$p" == */* ]]; do p=${p%/*}; under[$p]=1; done
done
paths=()
carve() { # carve PATH: PATH itself, or its children when something below it is excluded
  local p=$1 c
  [ -n "${skip[$p]:-}" ] && return 0
  if [ -z "${under[$p]:-}" ]; then paths+=("$p"); return 0; fi
  for c in "$p"/* "$p"/.[!.]*; do carve "$c"; done
}
carve node_modules
mapfile -t tracked < <(git ls-files | cut -d/ -f1 | sort -u)
paths+=("${tracked[@]}" dist "$demo" "$parity" "$data")
if [ -n "${GPU_PACK_LIST:-}" ]; then
  printf '%s\n' "${paths[@]}" > "$GPU_PACK_LIST"
  echo "gpu-pack: ${#paths[@]} paths listed in $GPU_PACK_LIST ($(du -shc "${paths[@]}" | tail -1 | cut -f1) before compression)"
  exit 0
fi
echo "gpu-pack: ${#paths[@]} paths, $(du -shc "${paths[@]}" | tail -1 | cut -f1) before compression" >&2
"$pack" "${paths[@]}"
