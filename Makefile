# Every target calls the `ecl` CLI (dist/pipeline/cli.js). See README.md.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
ECL := node dist/pipeline/cli.js
RUN ?= fmnist-lt-la-ce
DEMO_RUN ?= demo
EPOCHS ?= 12
BACKEND ?= auto

.PHONY: install build simd-kernels demo test test-unit test-browser train eval export export-check serve bench-serve cuda-ep bench-train bench-train-gpu gpu-check parity study clean

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

# Short run on the embedded Fashion-MNIST-LT subset shipped in the repo: works on any machine.
demo: build
	$(ECL) train --dataset embedded --name $(DEMO_RUN) --epochs 4 --batch-size 64 --lr 0.05 --backend $(BACKEND)
	$(ECL) eval runs/$(DEMO_RUN)
	@echo "artifacts: runs/$(DEMO_RUN)/"

# Full Fashion-MNIST-LT (IF 100) run on Debian's dataset-fashion-mnist.
train: build
	$(ECL) train --dataset fmnist-lt --imbalance 100 --loss la-ce --name $(RUN) --epochs $(EPOCHS) --backend $(BACKEND)

eval: build
	$(ECL) eval runs/$(RUN)

export: build
	$(ECL) export runs/$(RUN)

export-check: build
	$(ECL) export-check runs/$(RUN)

SERVE_MODEL ?= runs/$(RUN)/model.onnx
SERVE_ARGS ?=
BENCH_SERVE_ARGS ?=

# KServe v2 + /v1/classify + /metrics + the web app at http://127.0.0.1:8000/
serve: build
	$(ECL) serve --model $(SERVE_MODEL) $(SERVE_ARGS)

bench-serve: build
	$(ECL) bench-serve $(if $(wildcard $(SERVE_MODEL)),--model $(SERVE_MODEL)) $(BENCH_SERVE_ARGS)

# CUDA 13 providers for onnxruntime-node 1.29.0 (linux-x64), from the npm registry. See docs/serving.md.
cuda-ep: install
	node scripts/install-cuda-ep.mjs

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

# Parity of every runtime (onnxruntime node/web, OpenCV DNN) against the trained tfjs model, on the demo run
# (trained first if missing). IMAGES=<dir> checks original image files through every runtime's own decode path
# (and the server's /v1/classify) instead of the test split.
parity: build
	@test -f runs/$(DEMO_RUN)/checkpoint.ckpt || $(MAKE) demo
	$(ECL) export runs/$(DEMO_RUN)
	$(ECL) parity runs/$(DEMO_RUN) $(if $(IMAGES),--images $(IMAGES))

# The method comparison (docs/results.md): 6 methods x 3 seeds on Fashion-MNIST-LT IF 100. Hours on 2 cores.
STUDY_EPOCHS ?= 3
study: build
	$(ECL) study --dataset fmnist-lt --imbalance 100 --epochs $(STUDY_EPOCHS) --seeds 1 2 3 --parallel 2


test: build
	node --test --test-concurrency=1 $$(ls dist/tests/*/*.test.js | sort)

test-unit: build
	node --test $$(ls dist/tests/unit/*.test.js | sort)

test-browser: build
	node --test --test-concurrency=1 $$(ls dist/tests/browser/*.test.js dist/tests/parity/*.test.js | sort)

clean:
	rm -rf dist
