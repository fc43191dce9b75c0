# DeepSEE reproducibility kit. `make reproduce` and `make test` set everything up themselves.
SHELL := /bin/bash
PROFILE ?= quick
# Use the active environment (venv or conda) when there is one, otherwise create .venv.
ifdef VIRTUAL_ENV
  PY := python
else ifdef CONDA_PREFIX
  PY := python
else
  PY := .venv/bin/python
endif
STAMP := $(if $(filter .venv/bin/python,$(PY)),.venv/.installed,.deepsee-installed)
PYTEST_ARGS ?=

.PHONY: setup reproduce showcase test lab notebooks benchmarks clean-runs

setup: $(STAMP)

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml $(if $(filter .venv/bin/python,$(PY)),.venv/bin/python,)
	@echo "[setup] installing deepsee and its dependencies (first time: a few minutes)"
	@free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); \
	if [ -n "$$free" ] && [ "$$free" -lt 7 ]; then \
	  echo "[setup] WARNING: only $$free GB free on this disk; the environment takes about 6.5 GB (PyTorch's"; \
	  echo "[setup]          x86_64 build with its CUDA libraries is 5.5 GB). If pip stops with 'No space left on"; \
	  echo "[setup]          device', free space (old clones, runs/, pytest's /tmp/pytest-of-<user>) and rerun."; \
	fi
	$(PY) -m pip install -q -e '.[notebooks,test]'
	@touch $(STAMP)

# OpenMP's default wait policy (spin briefly, then sleep) is the fastest on an idle machine: PASSIVE
# made the quick segmenter's training step 2x slower here (0.25 vs 0.12 s). On a machine shared with
# other CPU-heavy processes, `OMP_WAIT_POLICY=PASSIVE make reproduce` avoids spin-wait contention.
reproduce: setup
	$(PY) -m deepsee.cli reproduce --profile $(PROFILE)

# The showcase: every figure and table from the long-trained models shipped in pretrained/showcase
# (inference only; RETRAIN=1 trains them again: hours on a CPU).
showcase: setup
	$(PY) -m deepsee.cli reproduce --profile showcase $(if $(RETRAIN),--retrain,)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The notebooks are authored as notebooks/NN_*.py (jupytext percent format) paired with NN_*.ipynb;
# after editing either side, sync them (tests/test_notebooks.py fails on a pair out of sync).
notebooks: setup
	$(PY) -m jupytext --sync notebooks/[0-9][0-9]_*.py

lab: setup
	$(PY) -m jupyter lab notebooks/

benchmarks: setup
	$(PY) benchmarks/exploration.py
	$(PY) benchmarks/train_step.py

clean-runs:
	rm -rf runs/
