# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-clock install browser lint format bench faults lock clean staff-strings

# (Re)install whenever the dependency list or the pinned versions change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/roshni db upgrade
	$(BIN)/roshni seed-demo
	$(BIN)/roshni serve

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The suite once a year ahead and once a year back (tests/clock.py), side by side with their
# own Redis databases (tests/clock_runs.sh): no test may depend on the day it runs. The
# browser is left out: Chromium keeps the real clock, so its cookies would expire a year
# early or late against a moved server.
test-clock: install
	bash tests/clock_runs.sh $(BIN)/pytest

# The browser tests drive Debian's Chromium at /usr/bin/chromium (never a downloaded one).
# Installed when missing: as root, else through passwordless sudo. Where neither works the
# browser tests skip and say why, except under CI=true, where this step fails instead.
CHROMIUM_INSTALL := apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
browser:
	@test -x /usr/bin/chromium && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sh -c '$(CHROMIUM_INSTALL)'; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n sh -c '$(CHROMIUM_INSTALL)'; \
	else false; fi \
	|| { echo "WARNING: could not install Chromium (apt-get install chromium needs root or passwordless sudo); the browser tests skip without it (under CI=true they are required: failing)." >&2; \
	     test "$$CI" != true; }

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench.slots
	$(BIN)/python -m bench.series
	$(BIN)/python -m bench.waitlist
	$(BIN)/python -m bench.parsing
	$(BIN)/python -m bench.understanding
	$(BIN)/python -m bench.conversation
	$(BIN)/python -m bench.reminders
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.admin

# The production fault tests on this machine (PostgreSQL, Redis db 8, gunicorn, two workers):
# exit code 1 when a message is lost or doubled, a webhook gets a 5xx or goes unstored.
faults: install
	$(BIN)/python -m bench.faults

# The staff panel's words: collect every _() / _l() of admin/ into the staff catalogues
# (admin/translations/{en,hi}/LC_MESSAGES/messages.po); then write the Hindi of each new
# (empty) msgstr. The app compiles the .mo files itself when it starts.
staff-strings: install
	$(BIN)/pybabel extract -F admin/babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
		--omit-header -o $(VENV)/staff-messages.pot .
	$(BIN)/pybabel update -i $(VENV)/staff-messages.pot -d admin/translations -D messages \
		--no-fuzzy-matching --ignore-obsolete --omit-header

# Refresh constraints.txt from what is installed (after changing pyproject.toml).
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
