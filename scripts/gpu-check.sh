#!/usr/bin/env bash
# Every GPU claim measured in one run (docs/gpu-check.md), on a GPU machine after the project has been built and
# packed elsewhere (no npm there; scripts/gpu-pack.sh):
#   serving   `ecl bench-serve --ep cuda` on the demo model and a ResNet-32 (32x32x3) at concurrency 1/16/64/256
#             next to raw session.run on CUDA at the same batch, and PyTorch eager CUDA inference of the same
#             graph (scripts/torch_infer_bench.py, built from the ONNX file);
#   parity    `ecl parity` with the ort-node-cuda and ort-node-webgpu rows on the real 10k Fashion-MNIST test set;
#   training  tfjs-backend-webgpu (Dawn) next to PyTorch eager CUDA (la-ce and ECL), a kernel profile of one step,
#             and the 20-step numerics checks against the wasm path.
#   summary   OUT/summary.md and OUT/summary.json: one line per stage, its numbers, "skipped: no GPU (why)" or
#             "failed: exit N, last log line".
# Usage: scripts/gpu-check.sh OUT_DIR [STAGE...]   (default: every stage; GPU_CHECK_STAGES="a b" does the same)
# Env:   PYTHON=...                 interpreter with torch (CUDA torch on the GPU machine; default python3)
#        GPU_CHECK_SMALL=1          dry run: tiny sizes; where the GPU is missing, the CUDA serving/torch stages run
#                                   on the CPU instead and still report "skipped: no GPU"; SwiftShader counts as a
#                                   WebGPU adapter (it never does without GPU_CHECK_SMALL)
#        GPU_CHECK_BUDGET_S=480     seconds for all stages together: a stage gets min(its limit, what is left), and
#                                   the ones after the budget is spent report "skipped: out of time"
#        GPU_CHECK_DEMO_MODEL       (runs/demo/model.onnx)  GPU_CHECK_PARITY_RUN (runs/fmnist-lt-ecl)
#        GPU_CHECK_DATA_ROOT        Fashion-MNIST folder for parity (default: the run's own, else the packed
#                                   runs/.gpu-data/fashion-mnist when the run's is missing)
# Every stage has its own time limit, so a slow stage still leaves the others' results in OUT_DIR.
set -u
out=${1:?usage: scripts/gpu-check.sh OUT_DIR [STAGE...]}
shift
case $out in /*) ;; *) out=$PWD/$out ;; esac
cd "$(dirname "$0")/.."
ALL_STAGES="serve-demo-cuda serve-resnet32-cuda torch-infer-resnet32 torch-infer-demo parity-gpu \
bench-512 bench-512-ecl numerics-resnet32 numerics-resnet32-wasm numerics-resnet32-real numerics-resnet32-real-wasm \
numerics-cnn28-real numerics-cnn28-ecl bench-128 bench-512-submit profile baseline-stock"
req="${*:-${GPU_CHECK_STAGES:-$ALL_STAGES}}"
for s in $req; do [[ " $ALL_STAGES " == *" $s "* ]] || { echo "unknown stage '$s' (stages: $ALL_STAGES)" >&2; exit 2; }; done
stages=" $req "
py=${PYTHON:-$(command -v python3 || echo python3)}
small=${GPU_CHECK_SMALL:-}
# Sizes: the real run, and a dry run on a machine without a GPU (GPU_CHECK_SMALL=1), where WebGPU is SwiftShader
# (a CPU rasteriser: one ResNet-32 step at batch 4 takes ~50 s on 2 cores, ResNet-8 still minutes per stage), so
# the training stages train cnn28 only, fewer steps, and every time limit is multiplied by GPU_CHECK_LIMIT_SCALE
# (4 in a dry run). The real run: 480 s of stages + start-up and unpacking = 9 min.
big=512 little=128 nb=32 nb64=64 steps=5 warm=2 rounds=2 nsteps=20 rn=resnet32 models=resnet32,cnn28
conns=1,16,64,256 dur=4 tbatches=1,16,64,256 tsec=1.5 psamples=() scale=${GPU_CHECK_LIMIT_SCALE:-1} budget=${GPU_CHECK_BUDGET_S:-480}
if [ -n "$small" ]; then
  big=4 little=2 nb=4 nb64=4 steps=1 warm=1 rounds=1 nsteps=2 rn=cnn28 models=cnn28
  conns=1,4 dur=1 tbatches=1,4 tsec=0.2 psamples=(--samples 200) scale=${GPU_CHECK_LIMIT_SCALE:-4} budget=${GPU_CHECK_BUDGET_S:-3600}
fi
demo_model=${GPU_CHECK_DEMO_MODEL:-runs/demo/model.onnx}
parity_run=${GPU_CHECK_PARITY_RUN:-runs/fmnist-lt-ecl}
data_root=${GPU_CHECK_DATA_ROOT:-}
if [ -z "$data_root" ] && [ ! -d /usr/share/datasets/fashion-mnist ] && [ -d runs/.gpu-data/fashion-mnist ]; then data_root=runs/.gpu-data/fashion-mnist; fi
# Dry run without a GPU: Dawn finds Chromium's SwiftShader Vulkan driver only when told where it is.
swiftshader=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -n "$small" ] && [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && ! command -v nvidia-smi >/dev/null && [ -e "$swiftshader" ]; then
  export VK_ICD_FILENAMES=$swiftshader
fi

# The Vulkan loader complains on every start without one.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
mkdir -p "$out/stages" "$out/logs" "$out/models"
rm -f "$out"/stages/*.status
log="$out/gpu-check.log"
deadline=$((SECONDS + budget))
echo "gpu-check $(date -u +%FT%TZ) stages:$stages small=${small:-0} budget ${budget}s, limits x$scale" | tee "$log"
echo "$req" > "$out/stages/selected"

status() { # status NAME key=value...  (one file per stage; the summary reads them)
  local name=$1; shift
  printf '%s\n' "$@" > "$out/stages/$name.status"
}

# Probe answers (scripts/gpu-probe.ts): have KEY -> 0 when usable. The tfjs WebGPU adapter counts only when
# it is hardware, except in a dry run.
have() {
  local v
  v=$(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]];process.stdout.write(p&&p.ok&&(!p.software||process.argv[3])?"1":"0")' \
    "$out/probe.json" "$1" "$small" 2>/dev/null)
  [ "$v" = 1 ]
}
why() { # why KEY -> the probe's reason
  node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]];process.stdout.write(p?(p.ok&&p.software?"only a software WebGPU adapter: "+p.detail:p.detail):"not probed")' \
    "$out/probe.json" "$1" 2>/dev/null || echo "not probed"
}

# run LIMIT_S NAME CMD...      Env for the call: NEED="probe keys" the stage needs; DRY=1 runs it anyway in a dry
# run (GPU_CHECK_SMALL) when they are missing, reported as skipped; RESULTS="files" it must write.
run() {
  local limit=$(($1 * scale)) name=$2; shift 2
  [[ "$stages" == *" $name "* ]] || return 0
  local missing="" k
  for k in ${NEED:-}; do have "$k" || missing+="${missing:+; }$k: $(why "$k")"; done
  if [ -n "$missing" ] && ! { [ -n "$small" ] && [ -n "${DRY:-}" ]; }; then
    echo "=== $name: skipped: no GPU ($missing)" | tee -a "$log"
    status "$name" state=skipped "reason=no GPU ($missing)"
    return 0
  fi
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 10 ]; then
    echo "=== $name: skipped: out of time (budget ${budget}s spent)" | tee -a "$log"
    status "$name" state=skipped "reason=out of time (GPU_CHECK_BUDGET_S=${budget} spent before this stage)"
    return 0
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "=== $name ($(date -u +%T), limit ${limit}s): $*" | tee -a "$log"
  local f
  for f in ${RESULTS:-}; do rm -f "$out/$f"; done # never a stale result from an earlier run in the same OUT
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" 2>&1 | grep --line-buffered -v XDG_RUNTIME_DIR | tee "$out/logs/$name.log" | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$log"
  status "$name" state=ran "exit=$rc" "seconds=$((SECONDS - t0))" "limit=$limit" "results=${RESULTS:-}" \
    ${missing:+"dry=no GPU ($missing); dry run on the CPU instead"}
}

{
  echo "node $(node --version)"
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -3; else echo "no nvidia-smi"; fi
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "(no CUDA device)")' 2>&1 | tail -1
} 2>&1 | tee -a "$log"

# Inputs: the ResNet-32 (untrained, seeded: speed does not depend on the weights), then what each stage can use.
r32="$out/models/resnet32/model.onnx"
timeout 60 node dist/scripts/make-bench-model.js --family resnet32 --out "$r32" 2>&1 | tee -a "$log"
probe_model=$demo_model
[ -e "$probe_model" ] || probe_model=$r32
timeout 120 node dist/scripts/gpu-probe.js --model "$probe_model" --python "$py" --out "$out/probe.json" 2>&1 | grep -v XDG_RUNTIME_DIR | tee -a "$log"
[ -s "$out/probe.json" ] || echo '{}' > "$out/probe.json"

# 1. Serving on CUDA: the server under load next to raw session.run at batch = concurrency (and a dry run on
#    the CPU where there is no CUDA). max-batch 256 so the largest level can batch as deep as the ceiling.
serve_ep=cuda
have ortCuda || serve_ep=cpu
NEED=ortCuda DRY=1 RESULTS="serve-demo.json" run 75 serve-demo-cuda node dist/pipeline/cli.js bench-serve --model "$demo_model" \
  --ep $serve_ep --payload binary --connections $conns --duration $dur --max-batch 256 --out "$out/serve-demo.json"
NEED=ortCuda DRY=1 RESULTS="serve-resnet32.json" run 75 serve-resnet32-cuda node dist/pipeline/cli.js bench-serve --model "$r32" \
  --ep $serve_ep --payload binary --connections $conns --duration $dur --max-batch 256 --out "$out/serve-resnet32.json"
# PyTorch eager on the same graph and weights, checked against onnxruntime-node's logits first.
torch_dev=cuda
have torchCuda || torch_dev=cpu
torch_infer() { # torch_infer MODEL TAG (run under timeout through bash -c, hence exported)
  node dist/scripts/ort-reference.js --model "$1" --out "$out/models/$2-ref" --count 16 &&
    "$py" scripts/torch_infer_bench.py --model "$1" --device "$torch_dev" --batches "$tbatches" --seconds "$tsec" \
      --check "$out/models/$2-ref" --out "$out/torch-infer-$2.json"
}
export out py torch_dev tbatches tsec
export -f torch_infer
# Without a GPU the dry run needs torch + onnx on the CPU at least; without them too it is skipped.
tdry=$(have torch && echo 1)
NEED=torchCuda DRY=$tdry RESULTS="torch-infer-resnet32.json" run 60 torch-infer-resnet32 bash -c 'torch_infer "$@"' - "$r32" resnet32
NEED=torchCuda DRY=$tdry RESULTS="torch-infer-demo.json" run 40 torch-infer-demo bash -c 'torch_infer "$@"' - "$demo_model" demo

# 2. Parity on the real test set: the GPU rows are required where the probe found them (unavailable = failure),
#    and reported unavailable with the reason where not.
prt=(ort-node-cpu) preq=()
have ortCuda && preq+=(ort-node-cuda)
have ortWebgpu && preq+=(ort-node-webgpu)
NEED="ortCuda ortWebgpu" DRY=1 RESULTS="parity.json" run 120 parity-gpu node dist/pipeline/cli.js parity "$parity_run" \
  --runtimes ort-node-cpu,ort-node-cuda,ort-node-webgpu ${preq[@]:+--require $(IFS=,; echo "${preq[*]}")} --webgpu-samples 0 \
  "${psamples[@]}" ${data_root:+--data-root "$data_root"} --out "$out/parity.json"

# 3. Training: tfjs-backend-webgpu (Dawn) vs PyTorch eager, the goal's cases first (ResNet-32 and cnn28 at batch
#    512, la-ce and ECL), then the numerics, then batch 128, submit batching, the profile and the stock kernels.
torch_args=(--torch-device cuda --python "$py")
have torchCuda || torch_args=(--torch-device cpu --python "$py")
NEED=tfjsWebgpu RESULTS="train-gpu-512.json" run 100 bench-512 node dist/pipeline/cli.js bench-train --backend webgpu "${torch_args[@]}" \
  --models $models --batch $big --steps $steps --warmup $warm --rounds $rounds --out "$out/train-gpu-512.json"
# The pipeline's own objective: ECL (3 views per image) on ResNet-32.
NEED=tfjsWebgpu RESULTS="train-gpu-512-ecl.json" run 50 bench-512-ecl node dist/pipeline/cli.js bench-train --backend webgpu "${torch_args[@]}" \
  --models $rn --loss ecl --batch $big --steps $steps --warmup $warm --rounds 1 --out "$out/train-gpu-512-ecl.json"
# Numerics: 20 steps of the real trainer, webgpu against tfjs's stock webgpu kernels (isolates the replacements)
# and against the wasm path (itself checked against cpu); synthetic, then real images (embedded Fashion-MNIST).
NEED=tfjsWebgpu RESULTS="numerics-resnet32.json" run 30 numerics-resnet32 node dist/scripts/check-train-numerics.js --model $rn --batch $nb --steps $nsteps \
  --backends webgpu:stock,webgpu --out "$out/numerics-resnet32.json"
NEED=tfjsWebgpu RESULTS="numerics-resnet32-wasm.json" run 45 numerics-resnet32-wasm node dist/scripts/check-train-numerics.js --model $rn --batch $nb --steps $nsteps \
  --backends wasm,webgpu --out "$out/numerics-resnet32-wasm.json"
NEED=tfjsWebgpu RESULTS="numerics-resnet32-real.json" run 30 numerics-resnet32-real node dist/scripts/check-train-numerics.js --model $rn --data embedded --batch $nb --steps $nsteps \
  --backends webgpu:stock,webgpu --out "$out/numerics-resnet32-real.json"
NEED=tfjsWebgpu RESULTS="numerics-resnet32-real-wasm.json" run 45 numerics-resnet32-real-wasm node dist/scripts/check-train-numerics.js --model $rn --data embedded --batch $nb --steps $nsteps \
  --backends wasm,webgpu --out "$out/numerics-resnet32-real-wasm.json"
NEED=tfjsWebgpu RESULTS="numerics-cnn28-real.json" run 30 numerics-cnn28-real node dist/scripts/check-train-numerics.js --model cnn28 --data embedded --batch $nb64 --steps $nsteps \
  --backends wasm,webgpu --out "$out/numerics-cnn28-real.json"
NEED=tfjsWebgpu RESULTS="numerics-cnn28-ecl.json" run 30 numerics-cnn28-ecl node dist/scripts/check-train-numerics.js --model cnn28 --loss ecl --batch $nb --steps $nsteps \
  --backends wasm,webgpu --out "$out/numerics-cnn28-ecl.json"
NEED=tfjsWebgpu RESULTS="train-gpu-128.json" run 75 bench-128 node dist/pipeline/cli.js bench-train --backend webgpu "${torch_args[@]}" \
  --models $models --batch $little --steps $steps --warmup $warm --rounds $rounds --out "$out/train-gpu-128.json"
# Queue submission batching: tfjs submits every 15 dispatches; we use 24 (64 and 512 measured slower); try 12.
NEED=tfjsWebgpu RESULTS="train-gpu-512-submit.json" run 40 bench-512-submit env ECL_WEBGPU_FLAGS=WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=12 node dist/pipeline/cli.js bench-train \
  --backend webgpu "${torch_args[@]}" --models $rn --batch $big --steps $steps --warmup $warm --rounds 1 \
  --out "$out/train-gpu-512-submit.json"
# Where the time goes: per-kernel GPU time of one ResNet-32 step (tf.profile with timestamp queries).
NEED=tfjsWebgpu run 30 profile node dist/scripts/bench-wasm-step.js --backend webgpu --model $rn --batch $big --steps 2 --profile
# Before/after: the same step with tfjs's stock webgpu kernels.
NEED=tfjsWebgpu run 30 baseline-stock env ECL_WEBGPU_STOCK_KERNELS=1 node dist/scripts/bench-wasm-step.js --backend webgpu --model $rn --batch $big --steps 2

# 4. One line per stage.
echo "=== summary ($(date -u +%T), $((SECONDS)) s in all)" | tee -a "$log"
node dist/scripts/gpu-check-summary.js "$out" --stages "$ALL_STAGES" 2>&1 | tee -a "$log"
exit "${PIPESTATUS[0]}"
