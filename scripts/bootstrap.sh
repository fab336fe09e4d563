#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: Python packages, Java + Maven, PostgreSQL
# server binaries, Chromium for the browser test, and the pinned Kafka jars (resolved once into ~/.m2, verified by checksum).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null 2>&1 || apt_install maven
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
# Debian's Chromium for the dashboard's browser test (Playwright drives it by its path, so
# Playwright's own browser downloads are never needed).
command -v chromium >/dev/null 2>&1 || apt_install chromium

# The exact versions CI ran (requirements.lock, from `pip-compile --extra test --strip-extras
# --no-emit-find-links -o requirements.lock pyproject.toml`), then this checkout itself.
pip_install() {  # a failing pip fails the script (pipefail); only pip's root warning is hidden
  python3 -m pip install -q --disable-pip-version-check "$@" 2>&1 | { grep -v "Running pip as the 'root' user" || true; }
}
# The build backend pyproject.toml names ([build-system]): the plain-install test builds the
# checkout without build isolation, and a fresh machine's Python may have an older setuptools
# and no wheel.
pip_install "setuptools==84.2.1" "wheel==0.48.0"
pip_install -r requirements.lock
pip_install --no-deps -e .
python3 -c "from ledger.localdev.kafka import classpath; classpath()"
