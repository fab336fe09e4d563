"""The dashboard in real headless Chromium (Debian's package, driven by Playwright) after the demo.

Saves screenshots to artifacts/ for people to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.keys import load_signers, signing_key_path
from tests.fixtures_scenario import ApiServer

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SPIKE_DAY = "2025-08-07"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed; scripts/bootstrap.sh installs it.")
    return path


def test_dashboard_marks_the_spike_and_serves_a_verifiable_proof(
    api_server: ApiServer, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 900}
            ).new_page()
            # The link the demo prints: it sets a cookie and drops the token from the address bar.
            page.goto(f"{api_server.url}/?token={api_server.tokens['overseer']}")
            assert "token=" not in page.url
            assert page.locator("h1").inner_text() == "Disclosure Ledger"

            marker = page.locator(f'circle.spike-marker[data-day="{SPIKE_DAY}"]')
            assert marker.count() == 1
            assert marker.is_visible()
            assert page.locator("#prior-year-line").count() == 1
            assert page.locator("rect.alert-day").count() >= 1
            assert "spike_over_prior_year" in page.locator("#alerts ~ table").first.inner_text()
            # The demo's late notice contests its alert: it stays open (a person decides).
            bulk = page.locator("tr.alert-row", has_text="bulk_without_notice")
            assert (
                page.locator("tr.alert-row.resolved", has_text="bulk_without_notice").count() == 0
            )
            bulk_alerts = page.locator("tr.alert-row.open", has_text="bulk_without_notice").count()
            assert bulk_alerts >= 2
            assert bulk.count() == bulk_alerts
            # The notice panel shows the order report's lines, so it agrees with the alerts:
            # each open bulk alert is a violation row, or (the late notice claims an earlier
            # filed_at) a complied row whose alert is contested, waiting for a person.
            rows = page.locator("tr.notice-row")
            violations = rows.filter(has_text="violation").count()
            contested = rows.filter(has_text="complied").filter(has_text="contested").count()
            assert violations + contested == bulk_alerts
            assert contested >= 1
            assert rows.filter(has_text="complied").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            page.locator(f'rect.day[data-day="{SPIKE_DAY}"]').click()
            page.wait_for_selector("#drilldown")
            assert SPIKE_DAY in page.locator("#drilldown").inner_text()
            spike_row = page.locator("tr.entry", has_text="47,289")
            assert spike_row.count() == 1
            page.screenshot(path=str(ARTIFACTS / "dashboard-drilldown.png"), full_page=True)

            with page.expect_download() as download:
                spike_row.locator("a.proof-link").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
        finally:
            browser.close()

    proof = json.loads(saved.read_text())
    assert proof["log"].startswith(api_server.ledger.topics.disclosures)
    vkey = load_signers(signing_key_path(api_server.ledger.settings))[0].vkey
    checked = subprocess.run(
        [sys.executable, "-m", "ledger", "verify-proof", str(saved), "--key", vkey],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK inclusion proof" in checked.stdout, checked.stdout

    proof["leaf_index"] += 1  # the same file, tampered, must be refused
    saved.write_text(json.dumps(proof))
    refused = subprocess.run(
        [sys.executable, "-m", "ledger", "verify-proof", str(saved), "--key", vkey],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
