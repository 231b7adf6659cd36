#!/usr/bin/env bash
# GPU check of the training path (issue: training speed), run on a GPU machine after the project has been
# built elsewhere (no npm there): tfjs-backend-webgpu (Dawn) training next to PyTorch eager on CUDA, a
# kernel profile of one step, and the 20-step numerics check against the wasm path.
#   scripts/gpu-check.sh OUT_DIR [STAGE...]     (PYTHON=... to choose the interpreter with CUDA torch)
# Stages: bench-512 bench-128 profile bench-512-submit baseline-stock numerics-resnet32 numerics-resnet32-wasm
#         numerics-resnet32-real numerics-resnet32-real-wasm numerics-cnn28-real numerics-cnn28-ecl bench-512-ecl (default: all).
# Every stage has its own time limit, so a slow stage still leaves the others' results in OUT_DIR.
set -u
out=${1:?usage: scripts/gpu-check.sh OUT_DIR [STAGE...]}
shift
stages=" ${*:-bench-512 bench-128 profile bench-512-submit baseline-stock numerics-resnet32 numerics-resnet32-wasm numerics-resnet32-real numerics-resnet32-real-wasm numerics-cnn28-real numerics-cnn28-ecl bench-512-ecl} "
py=${PYTHON:-$(command -v python3)}
# Smaller settings for a dry run on a machine without a GPU (SwiftShader): GPU_CHECK_SMALL=1.
big=512 small=128 nb=32 steps=5
[ -n "${GPU_CHECK_SMALL:-}" ] && big=4 small=2 nb=4 steps=1
mkdir -p "$out"
log="$out/gpu-check.log"
run() { # run LIMIT_S NAME CMD...
  local limit=$1 name=$2; shift 2
  [[ "$stages" == *" $name "* ]] || return 0
  echo "=== $name ($(date -u +%T), limit ${limit}s): $*" | tee -a "$log"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | grep -v XDG_RUNTIME_DIR | tee -a "$log"
  echo "=== $name: exit ${PIPESTATUS[0]} after $((SECONDS - t0)) s" | tee -a "$log"
}
{
  echo "node $(node --version)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
} 2>&1 | tee -a "$log"

# Throughput, the goal's case first: ResNet-32 and cnn28 at batch 512, then batch 128 (the CPU table's).
run 180 bench-512 node dist/pipeline/cli.js bench-train --backend webgpu --torch-device cuda --python "$py" \
  --models resnet32,cnn28 --batch $big --steps $steps --warmup 2 --rounds 2 --out "$out/train-gpu-512.json"
run 100 bench-128 node dist/pipeline/cli.js bench-train --backend webgpu --torch-device cuda --python "$py" \
  --models resnet32,cnn28 --batch $small --steps $steps --warmup 2 --rounds 2 --out "$out/train-gpu-128.json"
# Where the time goes: per-kernel GPU time of one ResNet-32 step (tf.profile with timestamp queries).
run 70 profile node dist/scripts/bench-wasm-step.js --backend webgpu --model resnet32 --batch $big --steps 2 --profile
# Queue submission batching: tfjs submits every 15 dispatches; we use 24 (64 and 512 measured slower); try 12.
run 60 bench-512-submit env ECL_WEBGPU_FLAGS=WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=12 node dist/pipeline/cli.js bench-train \
  --backend webgpu --torch-device cuda --python "$py" --models resnet32 --batch $big --steps $steps --warmup 2 --rounds 1 \
  --out "$out/train-gpu-512-submit.json"
# Before/after: the same step with tfjs's stock webgpu kernels.
run 60 baseline-stock env ECL_WEBGPU_STOCK_KERNELS=1 node dist/scripts/bench-wasm-step.js --backend webgpu --model resnet32 --batch $big --steps 2
# Numerics: 20 steps of the real trainer, webgpu against the wasm path (itself checked against cpu).
# Reference: the same GPU with tfjs's stock kernels (isolates the replacements), then the wasm path.
run 120 numerics-resnet32 node dist/scripts/check-train-numerics.js --model resnet32 --batch $nb --steps 20 \
  --backends webgpu:stock,webgpu --out "$out/numerics-resnet32.json"
run 90 numerics-resnet32-wasm node dist/scripts/check-train-numerics.js --model resnet32 --batch $nb --steps 20 \
  --backends wasm,webgpu --out "$out/numerics-resnet32-wasm.json"
# The same on real images (the embedded Fashion-MNIST subset, padded to 32x32x3): a smoother loss.
run 60 numerics-resnet32-real node dist/scripts/check-train-numerics.js --model resnet32 --data embedded --batch $nb --steps 20 \
  --backends webgpu:stock,webgpu --out "$out/numerics-resnet32-real.json"
run 60 numerics-resnet32-real-wasm node dist/scripts/check-train-numerics.js --model resnet32 --data embedded --batch $nb --steps 20 \
  --backends wasm,webgpu --out "$out/numerics-resnet32-real-wasm.json"
run 60 numerics-cnn28-real node dist/scripts/check-train-numerics.js --model cnn28 --data embedded --batch 64 --steps 20 \
  --backends wasm,webgpu --out "$out/numerics-cnn28-real.json"
run 50 numerics-cnn28-ecl node dist/scripts/check-train-numerics.js --model cnn28 --loss ecl --batch $nb --steps 20 \
  --backends wasm,webgpu --out "$out/numerics-cnn28-ecl.json"
# The pipeline's own objective: ECL (3 views per image) on ResNet-32.
run 90 bench-512-ecl node dist/pipeline/cli.js bench-train --backend webgpu --torch-device cuda --python "$py" \
  --models resnet32 --loss ecl --batch $big --steps $steps --warmup 2 --rounds 1 --out "$out/train-gpu-512-ecl.json"
echo "done $(date -u +%T)" | tee -a "$log"
