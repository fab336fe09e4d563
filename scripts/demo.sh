#!/usr/bin/env bash
# The main job on a fresh clone: install, start local Kafka and PostgreSQL, run the consumers,
# emit a realistic year with the spike day, show the alert, verify, and serve the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec ledger demo "$@"
