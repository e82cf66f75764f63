# The README's two commands: `make demo` and `make test`. Both work on a fresh machine
# with Python 3.11, pip and make: uv is installed with pip when missing.
SHELL := /bin/bash
PYTHON ?= python3
# uv on PATH if there is one, else the one pip installed, run as a module: `pip install
# --user` puts its script in ~/.local/bin, which is not on every PATH.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

.PHONY: setup system-packages demo test lint typecheck pytest fmt clean

setup:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q --user uv || $(PYTHON) -m pip install -q uv
	$(UV) sync --frozen

demo: setup
	$(UV) run --frozen honnin demo

lint: setup
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench

typecheck: setup
	$(RUN) mypy src

system-packages:
	scripts/system-packages.sh

pytest: setup system-packages
	scripts/test-services.sh $(RUN) pytest -q $(PYTEST_ARGS)

test: lint typecheck pytest

fmt: setup
	$(RUN) ruff format src tests bench
	$(RUN) ruff check --fix src tests bench

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
