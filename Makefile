# FormBridge — `make run` serves it, `make test` tests it. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
# `make run` listens on loopback only; containers set HOST=0.0.0.0.
HOST ?= 127.0.0.1
DEMO_RECEIVER_PORT ?= 8001
FORMBRIDGE_VAR_DIR ?= $(CURDIR)/var
# Loopback is private: the SSRF guard refuses it unless allow-listed (the demo receiver, tests).
DELIVERY_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
export PORT HOST DEMO_RECEIVER_PORT FORMBRIDGE_VAR_DIR DELIVERY_ALLOWED_NETWORKS

# The test suite talks to the real PostgreSQL and Redis (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/formbridge
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_BROKER_URL ?= redis://127.0.0.1:6379/14
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/formbridge_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/13
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/12

# The pipeline on the embedded default `make run` uses: SQLite on a file, no Redis, no broker.
SQLITE_TESTS ?= tests/ingest tests/delivery tests/reporting

.PHONY: help install run test wordpress-plugin test-postgres test-sqlite test-faults test-deploy test-compose lint format bench-ingest bench-delivery bench-query bench-soak bench-scale bench-sandbox bench-schema bench-wordpress clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The Python client, as a site would install it; its tests run in the suite (tests/clients).
	$(BIN)/python -m pip install --quiet -e ./clients/python
	touch $(STAMP)

# The providers' own Node packages sign test requests (tests/sources/js); skipped without npm.
NODE_STAMP := tests/sources/js/node_modules/.installed-stamp
$(NODE_STAMP): tests/sources/js/package.json
	@if command -v npm >/dev/null 2>&1; then \
		cd tests/sources/js && npm install --no-audit --no-fund --silent && touch node_modules/.installed-stamp; \
	else echo "npm not found: the tests that sign with Node packages will be skipped"; fi

install: $(STAMP) $(NODE_STAMP)  ## create .venv and install pinned dependencies (and the test's Node packages)

.env:
	$(PYTHON) scripts/ensure_env.py .env

run: install .env  ## web, worker, beat and a demo receiver (SQLite + file broker unless DATABASE_URL/CELERY_BROKER_URL are set)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --receiver-url http://127.0.0.1:$(DEMO_RECEIVER_PORT)/hook
	rm -rf $(FORMBRIDGE_VAR_DIR)/metrics  # counters start over with the processes
	$(BIN)/honcho start

test: test-postgres test-sqlite  ## the whole suite on PostgreSQL and Redis, then the pipeline on SQLite

test-postgres: install .env  ## the whole suite, on PostgreSQL and Redis (PYTEST_ARGS picks tests)
	rm -rf var/test-metrics
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/test-metrics \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: install .env  ## ingest, events, inbox, retention, engine and reporting tests on the embedded default
	rm -rf var/test-sqlite
	FORMBRIDGE_VAR_DIR=$(CURDIR)/var/test-sqlite PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/test-sqlite/metrics \
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite/formbridge.sqlite3 REDIS_URL= CELERY_BROKER_URL= \
		$(BIN)/pytest $(SQLITE_PYTEST_ARGS) $(SQLITE_TESTS)

test-faults: install .env  ## the fault suite: kill workers, Redis and PostgreSQL under load; the ledger must balance
	rm -rf var/test-metrics
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/test-metrics \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} $(BIN)/pytest -m faults -s $(PYTEST_ARGS) tests/faults

test-deploy: install .env  ## the deploy rehearsal: every ECS task definition started here with its own environment, then its health checks
	$(BIN)/pytest -m deploy -p no:cacheprovider $(PYTEST_ARGS) tests/deploy

# checkov pins its own boto3 and friends: it lives in a venv of its own, inside .venv. Its
# accepted exceptions are skipped in the templates themselves (Metadata: checkov), each with its
# reason; docs/DEPLOY.md lists them.
CHECKOV := $(VENV)/checkov/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet checkov==3.3.30

# Base images for test-compose: "local" builds them from Debian's packages (no registry is
# reachable in CI); "public" uses Docker Hub's. Needs a running dockerd and docker-compose.
COMPOSE_BASE ?= local
test-compose: install .env  ## docker-compose.yml built and run with Docker: a lead through nginx, delivered, read back
	mkdir -p var
	if [ "$(COMPOSE_BASE)" = local ]; then deploy/local-images/build.sh > var/compose-images.env; \
	else : > var/compose-images.env; fi
	set -a && . var/compose-images.env && set +a && \
	  $(BIN)/pytest -m compose -p no:cacheprovider $(PYTEST_ARGS) tests/compose

lint: install $(CHECKOV)  ## ruff lint + format check, cfn-lint and checkov on the AWS bundle
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint deploy/aws/*.yaml
	$(CHECKOV) -d deploy/aws --framework cloudformation --compact --quiet --skip-download

format: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-ingest: install .env  ## FormBridge ingest vs a minimal WSGI floor, fresh and with 1M rows stored
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
		$(BIN)/python bench/ingest.py $(BENCH_ARGS)

bench-delivery: install .env  ## deliveries/s vs a floor (REST and every connector kind), FIFO, mirror backfill, latency, RSS
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
		$(BIN)/python bench/delivery.py $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
		$(BIN)/python bench/connectors.py $(CONNECTOR_BENCH_ARGS)

bench-query: install .env  ## read API p50/p99 with 1M submissions across 100 tenants
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
		$(BIN)/python bench/query.py $(BENCH_ARGS)

bench-soak: install .env  ## steady ingest to every connector kind: p50/p99 and RSS per window, delivery lag (BENCH_ARGS="--at-scale --seconds 1800": 30 min at 10M rows)
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
		$(BIN)/python bench/soak.py $(BENCH_ARGS)

bench-scale: install .env  ## ingest, reads and delivery at 10M stored rows (kept in <db>_scale; BENCH_ARGS=--reuse), each vs its floor
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
		$(BIN)/python bench/scale.py $(BENCH_ARGS)

bench-sandbox: install .env  ## templates and mappings in sandbox processes: their CPU, the bound's margin, the round trip
	$(BIN)/python bench/sandbox.py $(BENCH_ARGS)

bench-wordpress: install .env  ## a visitor's submit with the real form plugins on Apache mod_php and php -S: no plugin, FormBridge hung, down (WP_FORM_PLUGINS_DIR)
	$(BIN)/python bench/wordpress_visitor.py $(BENCH_ARGS)

bench-schema: install .env  ## the JSON Schema check: jsonschema-rs (used) vs the pure-Python jsonschema
	$(BIN)/python bench/schema.py $(BENCH_ARGS)

clean:  ## remove the virtualenv and local state (var/, .env)
	rm -rf $(VENV) var .env

wordpress-plugin:  ## build dist/formbridge.zip, the WordPress plugin as a site installs it (Plugins > Add New > Upload)
	rm -rf dist/formbridge.zip && mkdir -p dist
	cd clients/wordpress && $(PYTHON) -c "import shutil; shutil.make_archive('../../dist/formbridge', 'zip', '.', 'formbridge')"
	@echo "dist/formbridge.zip"
