# Every target calls the `ecl` CLI (dist/pipeline/cli.js). See README.md.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
ECL := node dist/pipeline/cli.js
# The run that eval/export/export-check/serve work on: RUN=<name>, else the run under runs/ with the newest
# checkpoint (so `make demo && make serve` needs no argument). `make train` names its run RUN or fmnist-lt-la-ce.
NEWEST_RUN = $(notdir $(patsubst %/,%,$(dir $(firstword $(shell ls -t runs/*/checkpoint.ckpt 2>/dev/null)))))
RUN ?= $(NEWEST_RUN)
TRAIN_RUN = $(if $(filter command line environment,$(origin RUN)),$(RUN),fmnist-lt-la-ce)
DEMO_RUN ?= demo
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

.PHONY: install build simd-kernels samples demo test soak mutation bug-table test-unit test-browser train eval export export-check serve bench-serve cuda-ep image image-cuda image-test bench-train bench-train-gpu gpu-check parity report study clean

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
# cores): train (replacing an earlier demo run), evaluate, export, check the export; then what to try next.
demo: build
	$(ECL) train --dataset embedded --name $(DEMO_RUN) --epochs 4 --batch-size 64 --lr 0.05 --backend $(BACKEND) --overwrite
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

# Full Fashion-MNIST-LT (IF 100) run on Debian's dataset-fashion-mnist.
train: build
	$(ECL) train --dataset fmnist-lt --imbalance 100 --loss la-ce --name $(TRAIN_RUN) --epochs $(EPOCHS) --backend $(BACKEND) $(TRAIN_ARGS)

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
# tfjs trainer vs a PyTorch CPU peer on the same model/loss (docs/training-speed.md); writes bench/train.json
bench-train: build
	$(ECL) bench-train $(BENCH_TRAIN_ARGS)

# On a GPU machine: tfjs-backend-webgpu (Dawn) vs PyTorch eager CUDA; PYTHON = an interpreter with CUDA torch.
PYTHON ?= python3
bench-train-gpu: build
	$(ECL) bench-train --backend webgpu --torch-device cuda --python $(PYTHON) --models resnet32,cnn28 --batch 512 \
	  --out bench/train-gpu.json $(BENCH_TRAIN_ARGS)

# Every GPU check (throughput, profile, stock-kernel baseline, numerics) into GPU_CHECK_OUT.
GPU_CHECK_OUT ?= runs/gpu-check
gpu-check: build
	PYTHON=$(PYTHON) scripts/gpu-check.sh $(GPU_CHECK_OUT)

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

# The method comparison (docs/results.md): 6 methods x 3 seeds on Fashion-MNIST-LT IF 100. Hours on 2 cores.
STUDY_EPOCHS ?= 3
study: build
	$(ECL) study --dataset fmnist-lt --imbalance 100 --epochs $(STUDY_EPOCHS) --seeds 1 2 3 --parallel 2


test: build
	node --test --test-concurrency=1 $$(ls dist/tests/*/*.test.js | grep -v '^dist/tests/deploy/' | sort)

# The serve soak test at 2x capacity for 60 s (make test runs it for 15 s).
soak: build
	ECL_SOAK_SECONDS=60 node --test --test-concurrency=1 dist/tests/integration/serve-soak.test.js

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

