# The two quick-start commands: `make serve` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench learn clean

$(STAMP): pyproject.toml client/pyproject.toml agents/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# The CPU build first: otherwise sentence-transformers pulls several GB of CUDA packages.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ./client -e '.[test]' -e './agents[textworld,plot]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/rememberer serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

# Not part of `make test`: seeds 1k/10k/100k-record memories and writes docs/BENCHMARKS.md.
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.run $(ARGS)

# Not part of `make test`: the agents' learning demo (a service of its own on an embedded
# database); writes docs/LEARNING.md and docs/learning/ (plot, tables, results).
learn: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m rememberer_agents.demo $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
