# The two quick-start commands: `make serve` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0
# PyTorch's CPU-only build. The default index would give Linux the CUDA build and several GB
# of NVIDIA wheels that the embedder never uses. Override with TORCH_INDEX=<url>.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install serve test lint bench learn screenshots clean

$(STAMP): pyproject.toml client/pyproject.toml agents/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch alone from $(TORCH_INDEX), first, and only when it is missing: sentence-transformers
	# then finds it satisfied. --no-deps: torch's own dependencies come from the usual index with
	# the project. A wheel that pip finds locally (find-links) also serves when the index is out
	# of reach.
	$(BIN)/python -c "import importlib.metadata as m; assert m.version('torch').split('+')[0] == '$(TORCH_VERSION)'" 2>/dev/null \
		|| $(BIN)/pip install --no-deps --index-url $(TORCH_INDEX) torch==$(TORCH_VERSION)
	$(BIN)/pip install -e ./client -e '.[test]' -e './agents[textworld,plot]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/rememberer serve $(ARGS)

# The last line fails when a generated sync SDK module is stale (client/scripts/unasync.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy --strict client/scripts
	$(BIN)/python client/scripts/unasync.py --check

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

# Not part of `make test`: seeds 1k/10k/100k-record memories, runs the recall suite on five
# distributions and writes docs/BENCHMARKS.md (explained by hand in docs/PERFORMANCE.md).
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.run $(ARGS)

# The memory inspector's main pages as PNGs in docs/ (needs chromium and chromium-driver).
screenshots: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.ui.screenshots

# Not part of `make test`: the agents' learning demo (a service of its own on an embedded
# database); writes docs/LEARNING.md and docs/learning/ (plot, tables, results).
learn: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m rememberer_agents.demo $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
