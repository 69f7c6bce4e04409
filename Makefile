# Every target sets itself up: a fresh clone with Python >= 3.10 needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-pure test-frappe e2e bench fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/persona-threading demo

## The whole suite: pure tests, then the Frappe suite (app, stock Email Account, e2e) in a bench.
test: $(VENV)/.installed
	@bash scripts/run-tests.sh "$(PY)"

test-pure: $(VENV)/.installed
	$(PY) -m pytest -q tests

test-frappe:
	@bash scripts/run-frappe-tests.sh

## End to end only: real Dovecot IMAP + SMTP catcher, Frappe's receive() and email queue.
e2e:
	@bash scripts/run-frappe-tests.sh e2e

## Throughput of the engine alone, then receive() with the app vs stock Frappe on two sites
## of the project's bench (benchmarks/stock_vs_app.sh; results in benchmarks/results/<date>/).
bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
	@bash benchmarks/stock_vs_app.sh

## 100,000 mutated real mails through the engine, then 5,000 mutated and every real corpus
## mail through Frappe's real receive() (one Communication or Unhandled Email each).
fuzz: $(VENV)/.installed
	$(PY) -m persona_threading.fuzz 100000
	@bash scripts/run-frappe-tests.sh fuzz

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
