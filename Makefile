# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: messages migration run test lint pytest-sqlite pytest-postgres bench translations chromium amtool vendor clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

.stamp-install: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

.stamp-install-dev: requirements.txt requirements-dev.txt .stamp-install
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

# Compiled message catalogs (.mo) are build output, made from the .po files in git.
translations: .stamp-install
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations 2>&1 | grep -v '^compiling' || true

# After changing user-facing text: extract the msgids and merge them into the catalogs
# (webapp/translations/zh/LC_MESSAGES/messages.po), then translate what is new.
messages: .stamp-install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o webapp/translations/messages.pot .
	@if [ -f webapp/translations/zh/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel update --no-fuzzy-matching -i webapp/translations/messages.pot -d webapp/translations -l zh; \
	else \
		$(BIN)/pybabel init -i webapp/translations/messages.pot -d webapp/translations -l zh; \
	fi

# Debian's Chromium for the browser tests (Playwright never downloads a browser here), and
# a CJK font so that Chinese pages render as text in the screenshots, not as boxes.
chromium:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

# Debian's amtool (in prometheus-alertmanager): the tests drive the real Alertmanager CLI
# against the app's Alertmanager-compatible silence API (tests/test_silences_amtool.py).
amtool:
	@if ! command -v amtool >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null; \
	fi

# The demo: the Lark sandbox on, its demo keys, the embedded SQLite in instance/app.db.
run: export LARK_SANDBOX := 1
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: .stamp-install translations
	$(FLASK) db upgrade
	$(FLASK) demo load
	@echo
	@echo "  Open http://$(HOST):$(PORT)/_lark/ first: the Lark sandbox, where you pick a Lark user,"
	@echo "  open the on-call app from the workbench and press buttons on incident cards."
	@echo "  Admin side: http://$(HOST):$(PORT)/login  (li.lei@example.com / oncall-demo)"
	@echo
	$(BIN)/python -m webapp.devserver --host $(HOST) --port $(PORT)

lint: .stamp-install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy webapp
	$(BIN)/lint-imports

pytest-sqlite: .stamp-install-dev translations chromium amtool
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -m "not postgres_only" $(PYTEST_ARGS)

# With CI=true an unreachable PostgreSQL fails the build instead of being passed over.
pytest-postgres: .stamp-install-dev translations amtool
	@if $(BIN)/python -m tests.pg_reachable "$(TEST_DATABASE_URL)"; then \
		TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL), and CI needs it"; exit 1; \
	else \
		echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL): the PostgreSQL pass did not run"; \
	fi

test: lint pytest-sqlite pytest-postgres

bench: .stamp-install-dev
	$(BIN)/python -m bench

# Re-fetch the vendored front-end files from the npm registry (versions in the file names).
vendor:
	cd /tmp && rm -rf vendor-npm && mkdir vendor-npm && cd vendor-npm && \
	npm pack --silent htmx.org@2.0.11 axe-core@4.14.1 >/dev/null && \
	tar xzf htmx.org-2.0.11.tgz && cp package/dist/htmx.min.js $(CURDIR)/static/htmx-2.0.11.min.js && \
	rm -rf package && tar xzf axe-core-4.14.1.tgz && cp package/axe.min.js $(CURDIR)/static/axe-core-4.14.1.min.js

clean:
	rm -rf $(VENV) .stamp-* instance

# A schema change: edit webapp/models/, then add a migration (never edit a landed one):
#   make migration m="what changed"
migration: .stamp-install
	rm -f /tmp/oncall-migration.db
	DATABASE_URL=sqlite:////tmp/oncall-migration.db FLASK_DEBUG=1 $(FLASK) db upgrade
	DATABASE_URL=sqlite:////tmp/oncall-migration.db FLASK_DEBUG=1 $(FLASK) db migrate -m "$(m)"
	rm -f /tmp/oncall-migration.db
