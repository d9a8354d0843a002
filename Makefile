# thrift-bridge: the single entry point. `make demo` runs the main job, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
THRIFT ?= thrift
#: Where `make idl` compiles each IDL of idl/: what ships (the demo, which `thrift-bridge demo`
#: and the examples import) into the package; test and benchmark data beside their users.
#: tests/test_idl.py holds the same table and checks each directory is fresh.
IDL_SHIPPED := idl/demo.thrift
IDL_TESTS := idl/alltypes.thrift idl/calculator.thrift idl/jsonshapes.thrift
IDL_BENCH := idl/bench.thrift
APT_PACKAGES := thrift-compiler haproxy dnsmasq-base
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
HAS_APT := $(shell command -v apt-get >/dev/null 2>&1 && echo yes)

.PHONY: all demo test lint docs test-pythons test-python idl sysdeps venv bench bench-fleet bench-server bench-sysdeps soak clean flask-example django-example fastapi-example

#: Every Python version the package claims (setup.cfg); `make test` runs the suite on each.
PYTHON_VERSIONS := 3.9 3.10 3.11 3.12 3.13
#: The oldest claimed version: mypy also checks the package as that version.
OLDEST_PYTHON := $(firstword $(PYTHON_VERSIONS))
#: pytest-xdist workers: the suite mostly waits on sockets and timeouts.
PYTEST_ARGS ?= -n 2 -p no:benchmark

all: test

## venv: create .venv and install the package with its test extras (re-run when setup files change)
venv: $(STAMP)
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

## sysdeps: install the Debian packages the tests need (as root with apt), else say what is missing
## (dnsmasq-base is the dnsmasq binary alone: Debian's dnsmasq package adds a system service that
## would start and hold port 53; the DNS tests run their own on a loopback port)
sysdeps:
	@missing=""; \
	command -v $(THRIFT) >/dev/null 2>&1 || missing="$$missing thrift-compiler"; \
	command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing="$$missing dnsmasq-base"; \
	if [ -n "$$missing" ]; then \
	  if [ "$(IS_ROOT)" = yes ] && [ "$(HAS_APT)" = yes ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	    systemctl stop haproxy >/dev/null 2>&1 || true; \
	  else \
	    echo "missing system packages:$$missing (install with: sudo apt-get install$$missing)"; \
	    if [ -n "$$CI" ]; then exit 1; fi; \
	  fi; \
	fi

## idl: compile idl/*.thrift (generated/, tests/generated/, benchmarks/generated/), .pyi stubs beside
idl: sysdeps venv
	$(PY) -m thrift_bridge compile -o generated --package thrift_bridge.generated $(IDL_SHIPPED)
	$(PY) -m thrift_bridge compile -o tests/generated $(IDL_TESTS)
	$(PY) -m thrift_bridge compile -o benchmarks/generated $(IDL_BENCH)

## demo: start the demo service on loopback and call it through every URL scheme (DEMO_ARGS=--trace: one traced call)
demo: venv
	$(PY) -m thrift_bridge demo $(DEMO_ARGS)

## test: the static checks, then the whole pytest suite on every claimed Python version
test: sysdeps venv bench-server lint docs test-pythons
	$(VENV)/bin/pytest benchmarks/ --benchmark-disable -q -p no:xdist

## lint: format check, lint, types, import contracts (no tests)
lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## docs: the user documentation and API reference into site/ (mkdocs --strict: a broken
## reference or link fails, so `make test` keeps it from rotting)
docs: venv
	@test -x $(VENV)/bin/mkdocs || { echo "mkdocs is missing from $(VENV): the docs packages need Python 3.11+ (PYTHON=python3.11 make venv)" >&2; exit 1; }
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

## test-pythons: the pytest suite on each of PYTHON_VERSIONS (a missing one fails under CI=true)
test-pythons:
	@for version in $(PYTHON_VERSIONS); do \
	  $(MAKE) --no-print-directory test-python V=$$version || exit 1; \
	done

## test-python V=3.X: the pytest suite on one Python version, in .venv-3.X
test-python:
	@py=$$(.ci/find-python $(V)); \
	if [ -z "$$py" ]; then \
	  if [ -n "$$CI" ]; then echo "Python $(V) is missing (claimed in setup.cfg): install it" >&2; exit 1; fi; \
	  echo "skipping Python $(V): not installed (CI=true makes this an error)"; exit 0; \
	fi; \
	$(MAKE) --no-print-directory .venv-$(V)/.installed-stamp PY_FOR_VENV=$$py && \
	echo "== pytest on Python $(V) ($$py)" && \
	.venv-$(V)/bin/pytest $(PYTEST_ARGS) -q && \
	if [ "$(V)" = "$(OLDEST_PYTHON)" ]; then \
	  echo "== mypy as Python $(V) (the package)" && .venv-$(V)/bin/mypy --python-version $(V) thrift_bridge; \
	fi

.venv-%/.installed-stamp: setup.cfg pyproject.toml
	@test -x .venv-$*/bin/python || $(PY_FOR_VENV) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -e '.[test]'
	@touch $@

## soak: the load test at full size (64 threads x 5,000 calls), printing its figures
soak: venv
	THRIFT_BRIDGE_LOAD_CALLS=5000 $(VENV)/bin/pytest tests/test_reliability_load.py -s -q

## flask-example: the demo Thrift server plus the Flask example app on http://127.0.0.1:5000/
flask-example: venv
	$(PY) -m examples.flask_app.run

## django-example: the demo Thrift server plus the Django example on http://127.0.0.1:8000/
django-example: venv
	$(PY) -m examples.django_app.run

## fastapi-example: the demo Thrift server plus the FastAPI example under uvicorn on http://127.0.0.1:8000/
fastapi-example: venv
	$(PY) -m examples.fastapi_app.run

## bench-server: build the C++ bench server and the C echo server into build/bench/ (installs g++/libthrift-dev as root)
BENCH_BUILD := build/bench
bench-server: $(BENCH_BUILD)/bench_server $(BENCH_BUILD)/echo_server $(BENCH_BUILD)/cert.pem
bench-sysdeps:
	@missing=""; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	[ -f /usr/include/thrift/Thrift.h ] || missing="$$missing libthrift-dev"; \
	[ -f /usr/include/boost/version.hpp ] || missing="$$missing libboost-dev"; \
	[ -f /usr/include/openssl/ssl.h ] || missing="$$missing libssl-dev"; \
	command -v $(THRIFT) >/dev/null 2>&1 || missing="$$missing thrift-compiler"; \
	if [ -n "$$missing" ]; then \
	  if [ "$(IS_ROOT)" = yes ] && [ "$(HAS_APT)" = yes ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	  else echo "missing system packages:$$missing (install with: sudo apt-get install$$missing)"; exit 1; fi; \
	fi
$(BENCH_BUILD)/bench_server: idl/bench.thrift benchmarks/server/bench_server.cpp | bench-sysdeps
	mkdir -p $(BENCH_BUILD)/gen
	$(THRIFT) -gen cpp -out $(BENCH_BUILD)/gen idl/bench.thrift
	g++ -O2 -std=c++17 -I$(BENCH_BUILD)/gen benchmarks/server/bench_server.cpp \
	  $(BENCH_BUILD)/gen/Bench.cpp $(BENCH_BUILD)/gen/bench_types.cpp -o $@ \
	  -lthrift -lthriftz -lssl -lcrypto -lz -lpthread
$(BENCH_BUILD)/echo_server: benchmarks/server/echo_server.c | bench-sysdeps
	mkdir -p $(BENCH_BUILD)
	gcc -O2 -Wall -o $@ $< -lpthread
$(BENCH_BUILD)/cert.pem:
	mkdir -p $(BENCH_BUILD)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout $(BENCH_BUILD)/key.pem -out $@ -days 3650 \
	  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

## bench: thrift-bridge against its peers on the C++ server; prints tables, writes benchmarks/RESULTS.md
bench: venv bench-server
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m benchmarks.run $(BENCH_ARGS)

## bench-fleet: issue 22's fleet proofs against five Python servers on 127.0.0.x and dnsmasq
## (a few minutes); prints the table, writes the Fleet section of benchmarks/RESULTS.md
bench-fleet: sysdeps venv
	$(PY) -m benchmarks.fleet $(FLEET_ARGS)

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info .mypy_cache .ruff_cache .pytest_cache .benchmarks
