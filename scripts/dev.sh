#!/usr/bin/env bash
# The two quickstart commands, and what they need, in one place.
#   bash scripts/dev.sh demo [ARGS]   install everything into .venv, then run `vigil demo ARGS`
#   bash scripts/dev.sh test [ARGS]   install everything into .venv, then run the whole test suite
#   bash scripts/dev.sh setup         only install
# Needs Python 3.11 (and Java 17 for the Spark tests; Python 3.9, 3.12 and 3.13 for the SDK's
# install tests, from pyenv's versions or PATH). PostgreSQL, Chromium, Prometheus and Alertmanager
# come from Debian's packages and are installed with apt-get when missing (the tests start their
# own throwaway PostgreSQL cluster, headless browser, Prometheus and Alertmanager).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}

setup() {
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    # torch is pinned to the CPU build of 2.13.0 (the [train] extra); an open range would pull CUDA.
    .venv/bin/python -m pip install --quiet -e ".[all]"
    # vigil depends on the SDK in sdk/ by path, which pip installs as a copy; make it editable so
    # the SDK's source in this checkout is what runs.
    .venv/bin/python -m pip install --quiet --no-deps -e ./sdk
}

need_debian_package() {  # need_debian_package COMMAND_PATH_GLOB PACKAGE...
    local probe=$1
    shift
    # shellcheck disable=SC2086
    if ! ls $probe >/dev/null 2>&1; then
        echo "installing Debian packages: $*" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

case "${1:-}" in
    setup)
        setup
        ;;
    demo)
        shift
        setup
        exec .venv/bin/vigil demo "$@"
        ;;
    test)
        shift
        setup
        need_debian_package "/usr/lib/postgresql/*/bin/initdb" postgresql
        need_debian_package "/usr/bin/chromium" chromium chromium-driver
        # Real Alertmanager and Prometheus servers; the tests start their own on free ports.
        need_debian_package "/usr/bin/prometheus-alertmanager" prometheus-alertmanager
        need_debian_package "/usr/bin/prometheus" prometheus
        # One worker per core (at most 4), a test file per worker: files share module-level
        # fixtures (a crash test's reference run, a Spark session), so they stay together.
        exec .venv/bin/python -m pytest --numprocesses auto --maxprocesses 4 --dist loadfile "$@"
        ;;
    *)
        echo "usage: bash scripts/dev.sh demo|test|setup [ARGS]" >&2
        exit 2
        ;;
esac
