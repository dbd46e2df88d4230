# The two commands of the quick start: `make run` and `make test`.
# Both set everything up on a fresh Debian 12 machine (root, registries reachable).

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Debian packages the build and the tests need; installed only when missing.
DEBS    := python3-venv python3-dev gcc

.PHONY: run test setup system clean bench

run: setup
	$(BIN)/appliance demo

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/sale.py

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# Install the Debian packages only if something is missing, so a ready machine needs no root.
system:
	@missing=""; \
	for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if $(PY) -c 'import ensurepip, venv' 2>/dev/null && command -v gcc >/dev/null; then missing=""; fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "Need Debian packages:$$missing (run as root, or apt-get install them)"; exit 1; fi; \
		echo "Installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info
