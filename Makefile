# Quick start:  make run   (install if needed, train if data changed, chat)
#               make test  (install if needed, lint, train, run every test)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Loads .env and fills in defaults before running a command (see clinic/settings.py).
WITH_ENV := $(PY) scripts/with_env.py
RASA := $(WITH_ENV) $(VENV)/bin/rasa
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: install migrate train validate run shell actions console staff-user test test-stories test-python lint tune bench bench-serving lock clean

install:
	@bash scripts/setup.sh

# The clinic database (DATABASE_URL) at the newest migration; make install does it too (alembic.ini).
migrate: install
	$(WITH_ENV) $(VENV)/bin/alembic upgrade head

# `rasa train` compares fingerprints and keeps the current model when nothing changed.
train: install
	$(RASA) train --quiet

validate: install
	$(WITH_ENV) $(PY) scripts/validate_data.py

run: train
	@bash scripts/run.sh

shell: train
	@bash scripts/run.sh

actions: install
	$(RASA) run actions --port 5055

# The staff console alone (make run starts it too), and creating a staff login for it.
console: install
	$(WITH_ENV) $(PY) -m console run

staff-user: install
	@read -p "New staff username: " username && $(WITH_ENV) $(PY) -m console create-user "$$username"

test: lint train validate test-stories test-python

test-stories: train
	$(RASA) test core --e2e --stories tests/stories --fail-on-prediction-errors --out results/stories

test-python: train
	$(WITH_ENV) $(PY) -m pytest tests

# Style and likely bugs (ruff; rules and exclusions in pyproject.toml). Reports only, changes nothing;
# the first step of make test, so a finding fails it before anything is trained.
lint: install
	$(VENV)/bin/ruff check .

# Re-tunes the confidence thresholds on the development set with the trained model (writes
# docs/thresholds.md; scripts/tune_thresholds.py without --development-set cross-validates instead).
tune: install
	$(WITH_ENV) $(PY) scripts/tune_thresholds.py --development-set

# Answer quality and serving speed side by side (about 80 min on 2 cores: the 5-fold cross-validation trains the whole NLU five times, ~10 min each): writes docs/benchmarks.md and docs/benchmarks/.
# Serving is measured beside a stock `rasa init` bot, built offline by the first run (~3 min more) and kept in
# var/bench/stock_bot/.
bench: train
	$(WITH_ENV) $(PY) -m bench

# Serving alone, side by side with the stock bot, against the newest model in models/ (trains nothing of
# this assistant's): writes serving.md to a temporary folder, never docs/ (python -m bench --help).
bench-serving: install
	$(WITH_ENV) $(PY) -m bench --serving-only

# After editing requirements.txt or requirements-dev.txt: resolves them and writes both locks.
lock: install
	$(PY) -m pip install -r requirements.txt -r requirements-dev.txt
	$(PY) scripts/lock.py

clean:
	rm -rf models results .pytest_cache
