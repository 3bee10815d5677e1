# The two quick-start commands: `make serve` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench clean

$(STAMP): pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# The CPU build first: otherwise sentence-transformers pulls several GB of CUDA packages.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ./client -e '.[test]'
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

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
