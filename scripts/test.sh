#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then runs pytest.
# Unit tests and integration tests against a real local Kafka broker and PostgreSQL server,
# which the test fixtures start (and stop) themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
mkdir -p artifacts
# Lint and types first: they take seconds and a failure there needs no services to explain.
python -m ruff check .
python -m mypy
exec python -m pytest -q -p no:cacheprovider "$@"
