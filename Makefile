# Set-up and everyday commands. Every target creates the environment it needs.
VENV      ?= .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
export EVALFUNNEL_HOME ?= $(CURDIR)/.evalfunnel
export DAGSTER_HOME    ?= $(EVALFUNNEL_HOME)/dagster
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo test dev bench clean chromium

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/evalfunnel demo

# The report test renders the page in Debian's headless chromium; installed here when missing
# (as root, from Debian's package registry).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "the report test needs chromium: sudo apt-get install chromium"; exit 1; fi; }

# pytest exits 5 when it collected nothing: a suite that runs no test is a broken suite.
test: $(STAMP) chromium
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$rc

dev: $(STAMP)
	$(VENV)/bin/evalfunnel dev

# the start-up check first: it is quick, and a later bench that fails must not hide it
bench: $(STAMP)
	@for script in bench/startup.py $(filter-out bench/startup.py,$(sort $(wildcard bench/*.py))); do \
	  echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(EVALFUNNEL_HOME)
