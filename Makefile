# Cohort Labs. The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
PORT ?= 8000
SEED := curriculum/data/000_534dd0f80d9aa631.txt

.PHONY: install run test test-fast lint format check migrate demo clean

# Idempotent: creates .venv and installs the locked dependencies (only from PyPI),
# compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set (containers, CI)
# every process would otherwise compile Django and the rest from source as it starts
# (about 2 s of CPU for each web, worker and test server process).
install: $(BIN)/.installed

# A venv left half-made (an interrupted first run: no pip in it) is made again.
$(BIN)/.installed: requirements.lock pyproject.toml
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	touch $@

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Migrate, import the bundled curriculum, make the demo data, print the accounts,
# then serve the site with a Celery worker and beat. Ctrl-C stops all of them.
run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py import_curriculum $(SEED)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(BIN)/python scripts/run_dev.py

# The whole suite. Uses DATABASE_URL / REDIS_URL when set; SQLite otherwise.
test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=cohortlabs.example.com \
	$(BIN)/python manage.py check --deploy --fail-level WARNING --settings=config.settings_production
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf var db.sqlite3 db.sqlite3-wal db.sqlite3-shm
