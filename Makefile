# The two commands a newcomer needs:  make demo   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements-test.txt | cut -c1-12)

.PHONY: demo test test-matrix unit integration sanity lint bench emulator venv clean

$(STAMP): requirements-test.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Demo: emulator + a real playbook walking the how-to + the inventory, then a re-run showing changed=0.
demo: venv
	@VENV=$(VENV) scripts/demo

## The whole test suite (what CI runs): unit, emulator, contract, playbooks, ansible-doc, sanity, lint.
# Every claimed ansible-core version (2.16 ... 2.19, each from its own pinned venv; tests/core_versions.py) gets
# ansible-test sanity and the playbook/inventory tests marked all_cores; the other playbook tests run on 2.19, so
# that the suite fits CI's budget on 2 cores. test-matrix runs every playbook and inventory test on every version.
# FLEETOPS_ANSIBLE_CORE=2.16,2.19 (in the environment) narrows either to those versions.
test: venv
	@$(PY) -m pytest -n 2 --dist loadgroup

test-matrix: venv
	@FLEETOPS_CORE_MATRIX=full $(PY) -m pytest -n 2 --dist loadgroup

unit: venv
	@$(PY) -m pytest tests/unit tests/contract -q

integration: venv
	@$(PY) -m pytest tests/integration -q

sanity: venv
	@$(PY) -m pytest -m sanity -q

## Benchmarks print figures (they assert nothing about time).
bench: venv
	@$(PY) tests/benchmarks/run.py

## Start the emulator by hand on port 8080 (Ctrl-C to stop).
emulator: venv
	@PYTHONPATH=tests $(PY) -m emulator --port 8080

clean:
	rm -rf .build .demo tests/output
