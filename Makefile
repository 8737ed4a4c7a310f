# Two commands matter: `make run` (the back office on the embedded SQLite default) and
# `make test` (the whole suite against real PostgreSQL, Redis and TimescaleDB).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test serve demo api-key migrate secrets lint format check-compose system-deps tsdb-deps peer-venvs clean help backup restore

help:
	@echo "make run     - the back office on SQLite with demo data at http://$(HOST):$(PORT)/admin/"
	@echo "make test    - the test suite on real PostgreSQL, Redis and TimescaleDB"
	@echo "make serve   - gunicorn against the configured services (DATABASE_URL, REDIS_URL, ...)"
	@echo "make secrets - generate ./secrets/* for docker-compose (never overwrites)"
	@echo "make backup  - pg_dump + model artifacts into var/backups/ (make restore BACKUP=.. DATABASE=..)"
	@echo "make fuzz    - schemathesis and the journal's property tests, 10x make test's run"
	@echo "make load    - bench/load.py: each API and admin scenario at rising concurrency, its knee"
	@echo "make soak    - bench/soak.py: 10 minutes of mixed traffic, errors and worker memory (MINUTES=..)"
	@echo "make audit   - every pinned dependency against PyPI (scripts/audit_pins.py, pip-audit)"
	@echo "make lint    - ruff, and the import contracts (.importlinter)"

# uv installs the pinned requirements (a fresh clone's first page: 80 s with pip, about
# 25 s with uv; README "Two commands"). make run needs requirements.txt only; the test
# tools (requirements-dev.txt) come with make test.
UV_VERSION := 0.13.10
UV := $(VENV)/bin/uv
RUN_STAMP := $(VENV)/.installed-run

$(UV):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(RUN_STAMP): requirements.txt | $(UV)
	$(UV) pip install --quiet --python $(PY) -r requirements.txt
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt
	@touch $(STAMP)

run: $(RUN_STAMP)
	@mkdir -p $${BACKOFFICE_VAR_DIR:-var}
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput -v 0
	DJANGO_DEBUG=1 $(PY) manage.py demo --url http://$(HOST):$(PORT)/
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

demo: $(RUN_STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py demo

# A new API key on make run's instance: make api-key NAME=my-bot SCOPES=trades:write
api-key: $(RUN_STAMP)
	@test -n "$(NAME)" -a -n "$(SCOPES)" || { echo "usage: make api-key NAME=my-bot SCOPES=trades:write,trades:read"; exit 2; }
	@DJANGO_DEBUG=1 $(PY) manage.py create_api_key "$(NAME)" --scopes "$(SCOPES)"

migrate: $(RUN_STAMP)
	$(PY) manage.py migrate --noinput

serve: $(RUN_STAMP)
	$(PY) manage.py collectstatic --noinput -v 0
	$(VENV)/bin/gunicorn -c backoffice/gunicorn.conf.py backoffice.wsgi:application

system-deps:
	@bash scripts/ensure_system_deps.sh

tests/tsdb/node_modules/.package-lock.json: tests/tsdb/package-lock.json
	npm ci --prefix tests/tsdb --no-audit --no-fund --loglevel=error
	@touch $@

tsdb-deps: tests/tsdb/node_modules/.package-lock.json

# KServe's REST client for tests/serving/protocols/test_v2_clients.py, in var/test-venvs/kserve
# (requirements-kserve.txt: kserve pins its own FastAPI and Kubernetes client).
peer-venvs: $(STAMP)
	$(PY) -m tests.peer_venv kserve

# ARGS are passed to pytest, e.g. make test ARGS="-k spool -x"; TIERS=postgres,sqlite
test: $(STAMP) system-deps tsdb-deps peer-venvs
	$(PY) -m tests.harness.run $(if $(TIERS),--tiers $(TIERS)) $(ARGS)

# The schemathesis run of tests/fuzz (in make test with 100 examples per operation, the
# same every time) with FUZZ_EXAMPLES per operation, and the journal's property tests
# (the capture state machine, the record rules) with ten times make test's examples;
# fresh random cases each run.
.PHONY: fuzz
fuzz: $(STAMP) system-deps
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),1000) FUZZ_RANDOM=1 \
		HYPOTHESIS_MACHINE_EXAMPLES=2000 HYPOTHESIS_RULES_EXAMPLES=3000 \
		$(PY) -m tests.harness.run --tiers postgres tests/fuzz \
		tests/journal/test_capture_machine.py tests/journal/test_rules_agree.py $(ARGS)

# Every pin against PyPI: scripts/audit_pins.py (the newest release of each pin's series,
# advisories on the newest release), then pip-audit (PyPI's per-release advisories),
# which lists what it could not check. SECURITY.md has the latest result.
AUDIT_VENV := var/audit-venv
.PHONY: audit
audit:
	$(PYTHON) scripts/audit_pins.py requirements.txt requirements-dev.txt
	@test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/pip install --quiet --disable-pip-version-check pip-audit==2.10.1; }
	$(AUDIT_VENV)/bin/pip-audit --progress-spinner off --no-deps --disable-pip \
		-r requirements.txt -r requirements-dev.txt

secrets:
	@bash scripts/gen_secrets.sh

# The database (pg_dump -Fc) and MODEL_STORAGE_DIR into var/backups/<UTC time>/, with a
# manifest of sha256 sums. Restore into a NEW database: make restore BACKUP=dir DATABASE=name
backup: $(RUN_STAMP)
	$(PY) manage.py backup $(BACKUP)

restore: $(RUN_STAMP)
	@test -n "$(BACKUP)" -a -n "$(DATABASE)" || { echo "usage: make restore BACKUP=var/backups/... DATABASE=new_name"; exit 2; }
	$(PY) manage.py restore $(BACKUP) --database $(DATABASE)

# Load and soak runs against gunicorn on throwaway PostgreSQL and Redis; their figures
# are in bench/README.md. ARGS go to the benchmark, e.g. make load ARGS="--only capture".
.PHONY: load soak
load: $(STAMP) system-deps
	$(PY) -m bench.load $(ARGS)

soak: $(STAMP) system-deps
	$(PY) -m bench.soak $(if $(MINUTES),--minutes $(MINUTES)) $(ARGS)

check-compose:
	docker-compose -f docker-compose.yml config -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var/test-results var/static
