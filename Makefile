# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install, run the main job on embedded defaults
#   make test   create .venv, install, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hanbaocao demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest --cov --cov-report=term:skip-covered

bench: $(STAMP)
	$(BIN)/python bench/bench_parse.py
	$(BIN)/python bench/bench_confidence.py
	$(BIN)/python bench/bench_calendar.py
	$(BIN)/python bench/bench_due.py
	$(BIN)/python bench/bench_notify.py
	$(BIN)/python bench/bench_sweep.py
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_portal.py
	$(BIN)/python bench/bench_ocr.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
