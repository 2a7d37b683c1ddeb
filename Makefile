# Inference Ledger: two commands on a fresh machine.
#   make demo   set everything up, load realistic demo data, serve http://127.0.0.1:8000
#   make test   set everything up, run the whole suite against a real PostgreSQL
# With DATABASE_URL unset, both use a project-local PostgreSQL under var/pg (costapp/localdb.py),
# started for the command and stopped after it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN := $(BIN)/python costapp/localdb.py run --
# Development mode: an insecure dev SECRET_KEY is allowed and cookies work over plain http.
export INFERENCE_LEDGER_DEV ?= 1

.PHONY: demo test venv db db-stop browser lint format bench bench-memory clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,local]'
	touch $(STAMP)

# var/dev-mode: manage.py run by hand in this checkout uses the development key (manage.py).
venv: $(STAMP)
	@mkdir -p var && touch var/dev-mode

# Headless Chromium for the browser tests, from the system's packages (never a downloaded build).
browser:
	@bash scripts/ensure-chromium.sh

db: venv
	$(BIN)/python costapp/localdb.py start

db-stop: venv
	$(BIN)/python costapp/localdb.py stop

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: venv browser lint
	$(RUN) $(BIN)/pytest $(PYTEST_ARGS)

demo: venv
	$(RUN) sh -c '$(BIN)/python manage.py migrate --noinput && \
	  $(BIN)/python manage.py collectstatic --noinput -v0 && \
	  $(BIN)/python manage.py demo && \
	  $(BIN)/python manage.py runserver --noreload 127.0.0.1:8000'

# Size S by default (minutes on 2 cores), BENCH_SIZE=L for issue 18's size; PARTS="ingest workers"
# runs some parts only. Writes bench/results/latest.json and latest.md (not committed).
bench: venv
	$(RUN) $(BIN)/python -m bench $(PARTS)

# The issue's memory check at full size: peak RSS ingesting 1M vs 5M rows (a few minutes).
bench-memory: venv
	$(RUN) $(BIN)/python -m bench.ingest --rows 0 --issue-size

clean: db-stop
	rm -rf $(VENV) var
