# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates the virtualenvs it needs from the pinned requirements first.

SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
# The Lambda runtime in template.yaml is python3.13, so the local cloud runs handlers on 3.13 too.
PYTHON313 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test unit gates sam-local clean

venv: $(STAMP)

$(STAMP): requirements/dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (pyenv install 3.13)"; exit 1; }
	test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: venv
	$(VENV)/bin/orderflow demo

test: venv
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .orderflow .aws-sam
