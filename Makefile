# Every target calls the `ecl` CLI (dist/pipeline/cli.js). See README.md.
SHELL := /bin/bash
export ONNXRUNTIME_NODE_INSTALL := skip
ECL := node dist/pipeline/cli.js
RUN ?= fmnist-lt-la-ce
DEMO_RUN ?= demo
EPOCHS ?= 12
BACKEND ?= auto

.PHONY: install build demo test test-unit test-browser train eval export export-check parity study clean

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

build: install
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

# Parity of every runtime against the trained tfjs model, on the demo run (trained first if missing).
parity: build
	@test -f runs/$(DEMO_RUN)/checkpoint.ckpt || $(MAKE) demo
	$(ECL) export runs/$(DEMO_RUN)
	$(ECL) parity --run runs/$(DEMO_RUN)

# The method comparison (docs/results.md): 6 methods x 3 seeds on Fashion-MNIST-LT IF 100. Hours on 2 cores.
STUDY_EPOCHS ?= 3
study: build
	$(ECL) study --dataset fmnist-lt --imbalance 100 --epochs $(STUDY_EPOCHS) --seeds 1 2 3 --parallel 2


test: build
	node --test --test-concurrency=1 $(sort $(wildcard dist/tests/unit/*.test.js) $(wildcard dist/tests/integration/*.test.js) $(wildcard dist/tests/browser/*.test.js) $(wildcard dist/tests/parity/*.test.js))

test-unit: build
	node --test $(sort $(wildcard dist/tests/unit/*.test.js))

test-browser: build
	node --test --test-concurrency=1 $(sort $(wildcard dist/tests/browser/*.test.js) $(wildcard dist/tests/parity/*.test.js))

clean:
	rm -rf dist
