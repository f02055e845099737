# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := age chromium chromium-driver postgresql tor ffmpeg fonts-dejavu-core openssh-client poppler-utils
# Installed only where `npm` is missing: a machine's own Node.js (with its bundled npm) is kept.
NODE_APT_PACKAGES := nodejs npm
PG_DIR := $(CURDIR)/.pg

.PHONY: demo test venv system-deps node-deps static static-check lint typecheck pytest clean extract-translations compile-translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# typage (npm age-encryption), the independent age implementation the crypto tests run under Node:
# exactly the versions and integrity hashes of package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing: $(NODE_APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NODE_APT_PACKAGES) >/dev/null; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

node-deps: node_modules/.installed

# The intake page's one script (docs/threat-model.md): built from submission/static/src/ by esbuild
# from node_modules, and committed, so an install needs no Node; `static-check` (run by `make test`)
# rebuilds it and fails unless the committed file is reproduced byte for byte.
STATIC_SCRIPT := submission/static/intake.js
ESBUILD_FLAGS := --bundle --minify --format=iife --target=es2020 --charset=utf8 --legal-comments=eof

static: node-deps
	node_modules/.bin/esbuild submission/static/src/intake.js $(ESBUILD_FLAGS) --outfile=$(STATIC_SCRIPT)

static-check: node-deps
	@built=$$(mktemp -d) && \
	node_modules/.bin/esbuild submission/static/src/intake.js $(ESBUILD_FLAGS) --log-level=warning --outfile=$$built/intake.js && \
	cmp $$built/intake.js $(STATIC_SCRIPT) && rm -r $$built && echo "$(STATIC_SCRIPT) is reproduced by its sources" || \
	{ rm -rf $$built; echo "$(STATIC_SCRIPT) differs from what its sources build: run make static"; exit 1; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy --strict crypto
	$(BIN)/mypy submission review bench

pytest: venv system-deps node-deps
	bash tests/tools/postgres.sh start $(PG_DIR)
	TAMGA_TEST_DATABASE_URL="$$(cat $(PG_DIR)/url)" $(BIN)/pytest -q -p no:cacheprovider; \
	  status=$$?; bash tests/tools/postgres.sh stop $(PG_DIR); exit $$status

test: static-check lint typecheck pytest

demo: venv static
	$(BIN)/python -m submission.demo

# Translations (docs/translations.md): extract after changing a source-visible string, translate
# the new entries in submission/translations/*/LC_MESSAGES/messages.po, then compile.
TRANSLATIONS := submission/translations

extract-translations: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project=Tamga --copyright-holder=Tamga -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

compile-translations: venv
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

clean:
	rm -rf $(VENV) $(PG_DIR) build *.egg-info node_modules
