# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates the virtualenvs it needs from the pinned requirements first.

SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
# The Lambda runtime in template.yaml is python3.13, so the local cloud runs handlers on 3.13 too.
PYTHON313 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo bench chaos test unit gates sam-local localstack-up localstack-down clean

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

# Orders per second, latency per stage, AWS calls per order, import times (docs/benchmarks.md).
# e.g. make bench BENCH_ARGS="--orders 1000 --concurrency 16"
bench: venv
	$(VENV)/bin/orderflow bench $(BENCH_ARGS)

# The order flow under every injectable fault, then the invariant checker; exit 1 on any violation (docs/reliability.md).
# e.g. make chaos CHAOS_ARGS="--orders 2000 --seed 3"
CHAOS_ARGS ?= --orders 100 --faults all --seed 1
chaos: venv
	$(VENV)/bin/orderflow chaos $(CHAOS_ARGS)

# The integration and e2e suites run on two targets (tests/conftest.py): moto, and LocalStack for SQS/SNS/S3.
# LocalStack is started first (a running one is reused and left running) and stopped by PID whatever pytest
# returns (quietly: pytest's summary stays the last line); its exit code is make's. If LocalStack cannot start,
# `make test` fails before any test runs. `make test PYTEST_ARGS="tests/e2e --target localstack"` narrows the run.
test: venv .venv-localstack/.installed
	@reused=0; \
	if [[ -f .localstack/localstack.pid ]] && kill -0 "$$(cat .localstack/localstack.pid)" 2>/dev/null; then reused=1; fi; \
	infra/localstack/localstack.sh up .venv-localstack $(LOCALSTACK_PORT) .localstack \
		|| { echo "make test: FAILED: LocalStack did not start, so the localstack target cannot run" >&2; exit 1; }; \
	if [[ $$reused == 0 ]]; then trap 'infra/localstack/localstack.sh down .localstack >/dev/null' EXIT; fi; \
	LOCALSTACK_ENDPOINT=$$(cat .localstack/endpoint) $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); \
	status=$$?; exit $$status

# ---- Tooling: template gates, sam local invoke, LocalStack (each tool in its own pinned venv) ----
TEMPLATE ?= template.yaml
SAM_BUILD_DIR ?= .aws-sam/build
# `sam build` looks up every runtime's interpreter on PATH; pyenv shims serve them all at once.
SAM_PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0
# No telemetry, no credentials needed: everything the gates do is offline except PyPI for `sam build`.
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	PYENV_VERSION=$(SAM_PYENV_VERSION) PATH="$(PYENV_ROOT)/shims:$$PATH"
# 1 = any failed checkov check fails `make gates` (the template has none: each suppression is justified
# beside it in template.yaml); 0 prints the failures and goes on, e.g. while trying a change.
CHECKOV_STRICT ?= 1
LOCALSTACK_PORT ?= 4566

# A tool's venv is rebuilt whenever its pinned requirements change.
.venv-%/.installed: requirements/tools-%.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found (pyenv install 3.13)"; exit 1; }
	rm -rf .venv-$*
	$(PYTHON313) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -r $<
	touch $@

gates: .venv-sam/.installed .venv-checkov/.installed
	@test -f $(TEMPLATE) || { echo "gates: $(TEMPLATE) not found"; exit 1; }
	$(SAM_ENV) .venv-sam/bin/sam validate --lint --template-file $(TEMPLATE)
	.venv-sam/bin/cfn-lint $(TEMPLATE)
	$(SAM_ENV) .venv-sam/bin/sam build --template-file $(TEMPLATE) --build-dir $(SAM_BUILD_DIR)
	.venv-checkov/bin/checkov -f $(TEMPLATE) --framework cloudformation --quiet --compact --skip-download \
		$(if $(filter 1,$(CHECKOV_STRICT)),,--soft-fail)

# Event files through real `sam local invoke` in Docker, inside a private network namespace (see infra/sam_local/).
SAM_LOCAL_CASES ?= infra/sam_local/cases.toml
sam-local: venv .venv-sam/.installed
	$(SAM_ENV) SAM=$(CURDIR)/.venv-sam/bin/sam PY=$(CURDIR)/$(PY) PYTHON313=$(PYTHON313) \
		infra/sam_local/run.sh $(SAM_LOCAL_CASES)

# LocalStack for SQS/SNS/S3 in the background; tests find it through LOCALSTACK_ENDPOINT (also in .localstack/endpoint).
localstack-up: .venv-localstack/.installed
	infra/localstack/localstack.sh up .venv-localstack $(LOCALSTACK_PORT) .localstack

localstack-down:
	infra/localstack/localstack.sh down .localstack

clean:
	rm -rf $(VENV) .orderflow .aws-sam
