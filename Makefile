# Every target calls the `ecl` CLI (dist/pipeline/cli.js). See README.md.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
ECL := node dist/pipeline/cli.js
# The run that eval/export/export-check/serve work on: RUN=<name>, else the run under runs/ with the newest
# checkpoint (so `make demo && make serve` needs no argument). `make train` names its run RUN or fmnist-lt-$(LOSS) (fmnist-lt-ecl).
NEWEST_RUN = $(notdir $(patsubst %/,%,$(dir $(firstword $(shell ls -t runs/*/checkpoint.ckpt 2>/dev/null)))))
RUN ?= $(NEWEST_RUN)
TRAIN_RUN = $(if $(filter command line environment,$(origin RUN)),$(RUN),fmnist-lt-$(LOSS))
DEMO_RUN ?= demo
# The objective of make train (ECL, the CLI default; LOSS=la-ce etc. for a baseline).
LOSS ?= ecl
# The CLI's default too (pipeline/train/config.ts DEFAULTS.epochs) and the README's.
EPOCHS ?= 12
BACKEND ?= auto
# Extra `ecl train` options for make train, e.g. TRAIN_ARGS=--overwrite or TRAIN_ARGS=--resume.
TRAIN_ARGS ?=
SAMPLE ?= pipeline/data/embedded/samples/sneaker.png

# Fails with a hint when no run is named and none is trained yet.
define need_run
@test -n "$(RUN)" || { echo "no trained run under runs/: run 'make demo' (or 'make train') first, or name one with RUN=<name>" >&2; exit 2; }
endef

.PHONY: install build simd-kernels samples demo test soak mutation bug-table test-unit test-browser train eval export export-check serve bench-serve cuda-ep image image-cuda image-test bench-train profile-train check-numerics bench-train-gpu gpu-check gpu-pack parity report study study-search study-final results clean

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

# Two programs: everything but the browser app (node types), then serve/web (DOM only, no node types).
build: install
	npx tsc -p tsconfig.json
	npx tsc -p serve/web/tsconfig.json

# Rebuild the wasm SIMD kernels (pipeline/backend/kernels/simd/*.c -> kernels-wasm.ts, committed); needs Debian's
# clang + lld (apt-get install clang lld). Only after editing the C source; tests check the two match.
simd-kernels: build
	node dist/scripts/build-simd-kernels.js
	npx tsc -p tsconfig.json

# Regenerates the sample PNGs (real test images of the embedded subset) used by the curl example; committed.
samples: build
	node dist/scripts/make-sample-images.js

# The newcomer's path on the embedded Fashion-MNIST-LT subset shipped in the repo (any machine, ~3 min on 2
# cores): train with the ECL objective (the CLI default; --loss la-ce for the baseline), replacing an earlier demo run), evaluate, export, check the export; then what to try next.
demo: build
	$(ECL) train --dataset embedded --loss ecl --name $(DEMO_RUN) --epochs 4 --batch-size 64 --lr 0.05 --backend $(BACKEND) --overwrite
	$(ECL) eval runs/$(DEMO_RUN)
	$(ECL) export runs/$(DEMO_RUN)
	$(ECL) export-check runs/$(DEMO_RUN)
	@echo ""
	@echo "runs/$(DEMO_RUN)/model.onnx is exported and checked against the tfjs model. Next:"
	@echo "  make serve                # serves runs/$(DEMO_RUN)/model.onnx; web app at http://127.0.0.1:8000/"
	@echo "  curl -s -X POST --data-binary @$(SAMPLE) -H 'content-type: image/png' 'http://127.0.0.1:8000/v1/classify?k=3'"
	@echo "                            # (in another terminal) top-3 classes of a real test image"
	@echo "  make parity               # the same model on every runtime vs tfjs"
	@$(ECL) report runs/$(DEMO_RUN) >/dev/null
	@echo ""
	@echo "report of the run (open it in a browser, works offline): runs/$(DEMO_RUN)/report.html"

# Full Fashion-MNIST-LT (IF 100) run on Debian's dataset-fashion-mnist, with the ECL objective (the CLI default);
# a baseline is one option away: make train LOSS=la-ce (run fmnist-lt-la-ce).
train: build
	$(ECL) train --dataset fmnist-lt --imbalance 100 --loss $(LOSS) --name $(TRAIN_RUN) --epochs $(EPOCHS) --backend $(BACKEND) $(TRAIN_ARGS)

eval: build
	$(need_run)
	$(ECL) eval runs/$(RUN)

export: build
	$(need_run)
	$(ECL) export runs/$(RUN)

export-check: build
	$(need_run)
	$(ECL) export-check runs/$(RUN)

SERVE_MODEL ?= runs/$(RUN)/model.onnx
SERVE_ARGS ?=
BENCH_SERVE_ARGS ?=

# KServe v2 + /v1/classify + /metrics + the web app at http://127.0.0.1:8000/
serve: build
	$(need_run)
	@echo "serving runs/$(RUN); try: curl -s -X POST --data-binary @$(SAMPLE) -H 'content-type: image/png' 'http://127.0.0.1:8000/v1/classify?k=3'"
	$(ECL) serve --model $(SERVE_MODEL) $(SERVE_ARGS)

bench-serve: build
	$(ECL) bench-serve $(if $(wildcard $(SERVE_MODEL)),--model $(SERVE_MODEL)) $(BENCH_SERVE_ARGS)

# CUDA 13 providers for onnxruntime-node 1.29.0 (linux-x64), from the npm registry. See docs/serving.md.
cuda-ep: install
	node scripts/install-cuda-ep.mjs

# The server's container image (deploy/Containerfile; README "Deploy"): serve-only, FROM scratch (no base image
# pulled), user 1000, on 0.0.0.0:8080. MODEL=runs/<name>/model.onnx bakes a model in at /mnt/models/model.onnx;
# without it, mount one there. Needs podman and the npm registry (the server's node_modules, deploy/runtime).
IMAGE ?= localhost/ecl-serve:latest
IMAGE_CUDA ?= localhost/ecl-serve:cuda
MODEL ?=
image: build
	node dist/scripts/build-image.js --tag $(IMAGE) $(if $(MODEL),--model $(MODEL))

# The CPU image plus the CUDA execution provider (make cuda-ep's files); CUDA_LIBS=<dir> adds the CUDA 13 runtime
# and cuDNN 9 libraries from a folder (else the GPU node must provide them on /usr/local/cuda/lib64).
CUDA_LIBS ?=
image-cuda: build
	node dist/scripts/build-image.js --tag $(IMAGE) --cuda-tag $(IMAGE_CUDA) $(if $(MODEL),--model $(MODEL)) $(if $(CUDA_LIBS),--cuda-libs $(CUDA_LIBS))

# Builds the image from a fresh model and tests the running container against the checkout's server (not part of
# make test: needs podman; ECL_REQUIRE=podman makes a missing podman fail it).
image-test: build
	node --test --test-concurrency=1 $$(ls dist/tests/deploy/*.test.js | sort)

BENCH_TRAIN_ARGS ?=
# tfjs trainer vs a PyTorch CPU peer (channels_last and NCHW) on the same model/loss, LA-CE and the ECL step,
# interleaved; writes bench/train.json and the table in docs/training-speed.md (docs/training-speed.md)
bench-train: build
	$(ECL) bench-train --models cnn28,resnet32 --loss la-ce,ecl --doc docs/training-speed.md $(BENCH_TRAIN_ARGS)

# ms per kernel of one wasm training step (cnn28, ResNet-32; LA-CE and ECL) -> bench/train-profile.json + .md
profile-train: build
	$(ECL) bench-train --profile-only --models cnn28,resnet32 --loss la-ce,ecl $(BENCH_TRAIN_ARGS)

# Training numerics (docs/training-speed.md): teacher-forced gradients of one full trainer step, wasm kernels vs tfjs
# cpu, 1e-4 relative (ResNet-32 at 32 images: within 2x the gradients' own pixel-jitter floor); 20 free-running steps, XNNPACK routes vs the SIMD kernels, within 2x the SIMD kernels'
# lr-jitter floor (scripts/check-train-numerics.ts). Then the seed-1 gradient cases, ResNet-32's and cnn28's 20 steps with ECL_WASM_WINOGRAD=0
# (direct 3x3 kernels: the default Winograd rounds ~10x more and flips a max-pool near-tie there, which
# scripts/numerics-branch-flips.ts shows). JSON in bench/numerics-cpu/. Runs every check, then fails if any did. ~10 minutes (tfjs-cpu is slow).
check-numerics: build
	@st=0; \
	node dist/scripts/check-train-numerics.js --gradients --cases cnn28:la-ce:24:2,cnn28:ecl:8:2,resnet8:la-ce:4,resnet8:ecl:2:2 --out bench/numerics-cpu/gradients.json || st=1; \
	node dist/scripts/check-train-numerics.js --gradients --reference wasm:nosimd --floor --cases resnet32:la-ce:32,resnet32:ecl:8 --out bench/numerics-cpu/gradients-resnet32-floor.json || st=1; \
	node dist/scripts/check-train-numerics.js --model cnn28 --data embedded --batch 32 --steps 20 --backends wasm:nosimd,wasm --floor --out bench/numerics-cpu/cnn28-floor.json || st=1; \
	node dist/scripts/check-train-numerics.js --model resnet32 --data embedded --batch 32 --steps 20 --backends wasm:nosimd,wasm --floor --out bench/numerics-cpu/resnet32-floor.json || st=1; \
	ECL_WASM_WINOGRAD=0 node dist/scripts/check-train-numerics.js --gradients --cases cnn28:la-ce:24:1,cnn28:ecl:8:1,resnet8:la-ce:4:1,resnet8:ecl:2:1 --out bench/numerics-cpu/gradients-seed1-direct3x3.json || st=1; \
	ECL_WASM_WINOGRAD=0 node dist/scripts/check-train-numerics.js --gradients --reference wasm:nosimd --floor --cases resnet32:la-ce:32,resnet32:ecl:8 --out bench/numerics-cpu/gradients-resnet32-floor-direct3x3.json || st=1; \
	ECL_WASM_WINOGRAD=0 node dist/scripts/check-train-numerics.js --model cnn28 --data embedded --batch 32 --steps 20 --backends wasm:nosimd,wasm --floor --out bench/numerics-cpu/cnn28-floor-direct3x3.json || st=1; \
	node dist/scripts/numerics-branch-flips.js --batch 24 --seed 1 | tee bench/numerics-cpu/branch-flips-cnn28-seed1.txt; \
	exit $$st

# On a GPU machine: tfjs-backend-webgpu (Dawn) vs PyTorch eager CUDA; PYTHON = an interpreter with CUDA torch.
PYTHON ?= python3
bench-train-gpu: build
	$(ECL) bench-train --backend webgpu --torch-device cuda --python $(PYTHON) --models resnet32,cnn28 --batch 512 \
	  --out bench/train-gpu.json $(BENCH_TRAIN_ARGS)

# Every GPU claim in one run (docs/gpu-check.md): CUDA serving vs session.run and PyTorch, parity's CUDA/WebGPU rows,
# the training bench and numerics, into GPU_CHECK_OUT (summary.md). GPU_CHECK_SMALL=1: the dry run, no GPU needed.
GPU_CHECK_OUT ?= runs/gpu-check
gpu-check: build
	PYTHON=$(PYTHON) scripts/gpu-check.sh $(GPU_CHECK_OUT)

# Packs the build, the CUDA providers (make cuda-ep), the demo and parity runs and Fashion-MNIST for the GPU machine.
gpu-pack: build
	scripts/gpu-pack.sh

# Parity of every runtime (onnxruntime node/web, OpenCV DNN) against the trained tfjs model, on RUN (default: the
# newest run; the demo run, trained first, when there is none). IMAGES=<dir> checks original image files through
# every runtime's own decode path (and the server's /v1/classify) instead of the test split.
PARITY_RUN = $(or $(RUN),$(DEMO_RUN))
parity: build
	@test -f runs/$(PARITY_RUN)/checkpoint.ckpt || $(MAKE) demo
	$(ECL) export runs/$(PARITY_RUN)
	$(ECL) parity runs/$(PARITY_RUN) $(if $(IMAGES),--images $(IMAGES))

# runs/<RUN>/report.html (RUN: the newest run by default): one offline HTML page of everything the run measured.
# COMPARE="runs/a runs/b ..." compares methods instead (mean ± 95% CI over seeds) -> runs/compare.html.
report: build
ifdef COMPARE
	$(ECL) report --compare $(COMPARE)
else
	$(need_run)
	$(ECL) report runs/$(RUN)
endif

# The study of docs/results.md (protocol there). Each finished run writes results/<dataset>-if<IF>/<run-id>.json
# (commit them); every target resumes, skipping runs that have one. Days on 2 cores: STUDY_PARALLEL runs at a time.
STUDY_PARALLEL ?= 2
STUDY_ARGS ?=
study-search: build
	$(ECL) study --plan search-bcl --parallel $(STUDY_PARALLEL) $(STUDY_ARGS)
	$(ECL) study --plan search-ecl --parallel $(STUDY_PARALLEL) $(STUDY_ARGS)

# Needs the finished search (the configurations it selects).
study-final: build
	$(ECL) study --plan final --parallel $(STUDY_PARALLEL) $(STUDY_ARGS)
	$(ECL) study --plan final-if10 --parallel $(STUDY_PARALLEL) $(STUDY_ARGS)
	$(ECL) study --plan plateau $(STUDY_ARGS)

study: study-search study-final

# Regenerates the tables of docs/results.md from results/ (no training).
results: build
	$(ECL) study-report

test: build
	node --test --test-concurrency=1 $$(ls dist/tests/*/*.test.js | grep -v '^dist/tests/deploy/' | sort)

# The serve soak test at 2x capacity for 60 s on cnn28 and on ResNet-32 (make test runs it for 15 s on cnn28).
# SOAK_ARGS="--max-batch 16 --max-queue 32" compares server limits.
soak: build
	ECL_SOAK_SECONDS=60 ECL_SOAK_SERVER_ARGS="$(SOAK_ARGS)" node --test --test-concurrency=1 dist/tests/integration/serve-soak.test.js
	ECL_SOAK_SECONDS=60 ECL_SOAK_MODEL=resnet32 ECL_SOAK_SERVER_ARGS="$(SOAK_ARGS)" node --test --test-concurrency=1 dist/tests/integration/serve-soak.test.js

test-unit: build
	node --test $$(ls dist/tests/unit/*.test.js | sort)

test-browser: build
	node --test --test-concurrency=1 $$(ls dist/tests/browser/*.test.js dist/tests/parity/*.test.js | sort)

clean:
	rm -rf dist

# Mutation testing (StrykerJS) of the modules the headline numbers rest on: bench/mutation/README.md (scores),
# runs/mutation/<module>/index.html (reports). MODULES="a b" picks modules (the slow ones run only when named);
# finished modules are skipped (their summary is committed), FORCE=1 reruns them (incrementally).
MODULES ?=
mutation: build
	node dist/scripts/mutation.js $(MODULES) $(if $(FORCE),--force)

# The deliberate-bug table of issue #20: each bug patched into a copy of dist/, its tests run there (unpatched
# first, as a control) → bench/mutation/deliberate-bugs.json and the table in bench/mutation/README.md. BUGS="id id" picks bugs.
BUGS ?=
bug-table: build
	node dist/scripts/deliberate-bugs.js $(BUGS)

