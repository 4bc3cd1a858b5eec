# The two commands of the README. Each sets up everything it needs on a fresh machine.
#   make demo   a throwaway issuer instance: init, issue a sample credential, verify it
#   make test   the whole test suite, interoperability with the Node.js peers included

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NODE_DIR := tests/interop

.PHONY: demo test lint bench bench-jobs bench-http clean system-deps certificate-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Node.js runs the independent peer implementations, Chromium the browser tests, wrk the
# HTTP benchmark and nginx the README's proxy site (its access log); Pango lays out the
# printable certificate in the Noto fonts (fontconfig finds them at run time) and
# poppler-utils reads the PDFs back in the tests. They come from Debian's
# packages when the machine lacks them (this needs root, as CI has).
CERTIFICATE_PACKAGES = libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-noto-core fonts-noto-cjk poppler-utils
# Pango, fontconfig and the fonts alone: what the certificate (and so `make demo`) needs.
certificate-deps:
	@missing=""; \
	for package in $(CERTIFICATE_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

system-deps: certificate-deps
	@missing=""; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json | system-deps
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed certificate-deps
	$(PY) -m caiep.demo

test: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed system-deps
	$(VENV)/bin/ruff check .
	$(PY) tools/link_tree.py build/typecheck
	$(VENV)/bin/mypy
	cd build/typecheck && ../../$(VENV)/bin/lint-imports ../../pyproject.toml
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) bench/signing.py
	$(PY) bench/startup.py

bench-jobs: $(VENV)/.installed
	$(PY) bench/jobs.py
	$(PY) bench/jobs.py --import-rows 200000 --list 200000
	$(PY) bench/signing_job.py

bench-http: $(VENV)/.installed system-deps
	$(PY) bench/http_load.py

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules caiep-home demo-home build
