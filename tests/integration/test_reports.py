"""Requests, match-quality counts and the reports end to end: Kafka, the consumers, PostgreSQL
and the installed `ledger` command (p3c, order, accounting), plus a v1 DisclosureRecorded."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import httpx
import pytest

from consumers.service import start_consumers
from ledger.codec import MAGIC
from ledger.demo import history as demo_history
from ledger.events import DisclosureRecorded
from ledger.intake import build_event
from ledger.kafka.producer import EventProducer
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from ledger.schema_registry import default_registry
from tests.fixtures_scenario import ApiServer
from tests.integration.helpers import (
    at,
    caught_up,
    cli_env,
    disclosure,
    emit,
    isolated_ledger,
    rows,
)

pytestmark = pytest.mark.integration

I1 = "26 U.S.C. 6103(i)(1)"
I2 = "26 U.S.C. 6103(i)(2)"
D_AUTH = "26 U.S.C. 6103(d)"
USAO = "U.S. Attorneys"
USAO_NAME = "U.S. Attorneys' Offices"  # the registry's name: reports group by canonical agency
ICE = "U.S. Immigration and Customs Enforcement"
STATE = "State Tax Agency"
NOTICED = "Noticed Recipient"
TIN = "975-00-4243"


def request(request_id: str, recipient: str, received: str, **changes: Any) -> dict[str, Any]:
    return {
        "type": "DisclosureRequested",
        "request_id": request_id,
        "source_agency": "IRS",
        "requesting_agency": recipient,
        "requesting_official": "A. Official",
        "requesting_official_title": "Agency head",
        "received_at": received,
        "legal_authority": I2,
        "statutes": ["18 U.S.C. 1343"],
        "reasons": "The named taxpayers are subjects of a non-tax criminal investigation",
        "taxpayer_count": 100,
        "names_set_forth": 100,
        "addresses_set_forth": 100,
        "tins_set_forth": 0,
        "tax_periods": ["2022", "2023"],
        "recipient_address": f"1 Main St, {recipient}",
        **changes,
    }


def ledger_cli(led: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ledger")
    assert exe, "the ledger console script is not installed"
    return subprocess.run(
        [exe, *args], env=cli_env(led), capture_output=True, text=True, timeout=120, check=False
    )


def v1_bytes(event: DisclosureRecorded) -> bytes:
    """What a producer still on DisclosureRecorded v1 sends."""
    v1 = default_registry().history("DisclosureRecorded")[0]
    assert v1.version == 1
    record = {k: v for k, v in event.to_record().items() if k in v1.field_names}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, v1.parsed, record)
    return MAGIC + v1.fingerprint + body.getvalue()


def test_requests_counts_and_reports_through_the_real_pipeline(
    ledger_settings, tmp_path: Path
) -> None:
    led = isolated_ledger(ledger_settings, "reports")
    ref = taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), TIN)
    requests = [
        request("R-A", USAO, at(date(2024, 3, 1), 9)),
        request(
            "R-B",
            ICE,
            at(date(2024, 6, 1), 9),
            taxpayer_count=47289,
            names_set_forth=47289,
            addresses_set_forth=4594,
            tins_set_forth=47289,
        ),
        # 23:30 on 31 December in New York is 2025 in UTC: it counts in 2024.
        request("R-LATE", USAO, at(date(2024, 12, 31), 23, 30)),
        request("R-2025", USAO, at(date(2025, 1, 1), 0, 30)),
    ]
    # Through `ledger emit`, which accepts the new type.
    lines = tmp_path / "requests.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in requests))
    emitted = ledger_cli(led, "emit", "--file", str(lines))
    assert emitted.returncode == 0, emitted.stderr
    d1 = disclosure(
        date(2024, 3, 4),
        100,
        USAO,
        request_id="R-A",
        tax_periods=["2022", "2023"],
        recipient_address="950 Pennsylvania Ave NW, Washington, DC",
        taxpayer_refs=[ref],
    )
    d2 = disclosure(
        date(2024, 6, 3),
        47289,
        ICE,
        request_id="R-B",
        tax_periods=["2023"],
        match_method="TIN_NAME",
        address_verification=None,
        match_counts={"TIN_NAME": 47289},
        address_counts={"PLACEHOLDER": 42695, "VALID": 4594},
        taxpayer_refs=[ref],
    )
    d3 = disclosure(
        date(2024, 7, 1),
        1000,
        STATE,
        authority=D_AUTH,
        tax_periods=["2023"],
        recipient_address="1 Capitol Mall, Sacramento, CA",
        taxpayer_refs=[ref],
    )
    d4 = disclosure(date(2024, 8, 1), 5, USAO, request_id="R-UNSEEN", tax_periods=[])
    d5 = disclosure(date(2024, 12, 31), 7, USAO, authority=I1, when=at(date(2024, 12, 31), 23))
    d6 = disclosure(date(2025, 1, 1), 11, USAO, authority=I1, when=at(date(2025, 1, 1), 1))
    # A notice order over NOTICED: one transmission noticed 25 h ahead, one 2 h ahead.
    t_ok = datetime.fromisoformat(at(date(2024, 9, 10), 14))
    t_late = datetime.fromisoformat(at(date(2024, 9, 12), 14))
    order_id = f"O-{uuid.uuid4().hex[:8]}"
    stay_id = f"S-{uuid.uuid4().hex[:8]}"
    court = [
        {
            "type": "CourtOrderRecorded",
            "order_id": order_id,
            "case_reference": "1:25-cv-00457-CKK",
            "court": "D.D.C.",
            "order_type": "NOTICE_REQUIREMENT",
            "entered_at": at(date(2024, 9, 1), 9),
            "effective_at": at(date(2024, 9, 1), 9),
            "recipients": [NOTICED],
            "authorities": [I2],
            "bulk_threshold": 1000,
            "notice_hours": 24,
        },
        {
            "type": "CourtOrderRecorded",
            "order_id": stay_id,
            "case_reference": "1:25-cv-00457-CKK",
            "court": "D.D.C.",
            "order_type": "STAY",
            "entered_at": at(date(2030, 1, 1), 9),
            "effective_at": at(date(2030, 1, 1), 9),
            "recipients": ["Nobody"],
        },
        *[
            {
                "type": "NoticeFiled",
                "notice_id": notice_id,
                "case_reference": "1:25-cv-00457-CKK",
                "filed_at": (sent - timedelta(hours=lead)).isoformat(),
                "served_on": ["Court", "Plaintiffs"],
                "recipient_agency": NOTICED,
                "legal_authority": I2,
                "planned_transmission_start": (sent - timedelta(hours=1)).isoformat(),
                "planned_transmission_end": (sent + timedelta(hours=1)).isoformat(),
                "expected_record_count": 5000,
            }
            for notice_id, sent, lead in (("N-OK", t_ok, 25), ("N-LATE", t_late, 2))
        ],
    ]
    emit(led, court)
    ok = disclosure(date(2024, 9, 10), 3000, NOTICED, when=t_ok.isoformat(), notice_id="N-OK")
    late = disclosure(date(2024, 9, 12), 4000, NOTICED, when=t_late.isoformat(), notice_id="N-LATE")
    small = disclosure(date(2024, 9, 13), 10, NOTICED)  # below the order's bulk threshold
    sent = emit(led, [d1, d2, d3, d4, d5, d6, ok, late, small])
    ids = {
        o["disclosure_id"]: e.event_id
        for o, e in zip([d1, d2, d3, d4, d5, d6, ok, late, small], sent, strict=True)
    }
    legacy = build_event(
        disclosure(
            date(2024, 10, 1),
            200,
            "Legacy Recipient",
            authority=D_AUTH,
            tax_periods=["2022", "2023"],
        )
    )
    assert isinstance(legacy, DisclosureRecorded)
    with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
        producer.send_raw(
            v1_bytes(legacy), legacy.key.encode(), [("event_type", b"DisclosureRecorded")]
        )

    running = start_consumers(led)
    try:
        # Four consumers join their groups from cold here; a loaded machine took over 60 s once.
        caught_up(led, timeout=240)

        # --- request_incomplete names what the request lacks, and the counts ---------------
        def incomplete(disclosure_id: str) -> list[str]:
            found = rows(
                led,
                "SELECT message FROM alerts WHERE rule = 'request_incomplete'"
                " AND %s = ANY(evidence)",
                (ids[disclosure_id],),
            )
            return [m for (m,) in found]

        assert incomplete(d1["disclosure_id"]) == []
        (m2,) = incomplete(d2["disclosure_id"])
        assert "request R-B does not set forth addresses for 42,695 of 47,289 taxpayers" in m2
        assert "42,695 of 47,289 addresses PLACEHOLDER" in m2
        assert "matched by TIN_NAME 47,289" in m2
        (m4,) = incomplete(d4["disclosure_id"])
        assert "its request R-UNSEEN is not in the ledger" in m4
        stored = rows(
            led,
            "SELECT address_counts, tax_periods FROM disclosure_details WHERE event_id = %s",
            (ids[d2["disclosure_id"]],),
        )
        assert stored == [({"PLACEHOLDER": 42695, "VALID": 4594}, ["2023"])]
        assert rows(led, "SELECT count(*) FROM requests")[0][0] == 4
        # The v1 message decoded, was stored and counts.
        assert rows(
            led, "SELECT record_count FROM disclosures WHERE event_id = %s", (legacy.event_id,)
        ) == [(200,)]

        # --- ledger report p3c --year ---------------------------------------------------
        done = ledger_cli(led, "report", "p3c", "--year", "2024", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["year"] == 2024
        assert report["timezone"] == "America/New_York"
        table = {(r["recipient"], r["subsection"]): r for r in report["rows"]}
        counts = {
            k: (r["requests"], r["transmissions"], r["records"], r["disclosures"])
            for k, r in table.items()
        }
        assert counts[(USAO_NAME, "(i)(2)")] == (2, 2, 105, 205)  # R-A, R-LATE; 100 x 2 periods + 5
        assert counts[(USAO_NAME, "(i)(1)")] == (0, 1, 7, 7)  # 23:00 on 31 Dec in New York
        assert counts[(ICE, "(i)(2)")] == (1, 1, 47289, 47289)
        assert counts[(STATE, "(d)")] == (0, 1, 1000, 1000)
        assert counts[(NOTICED, "(i)(2)")] == (0, 3, 7010, 7010)
        assert counts[("Legacy Recipient", "(d)")] == (0, 1, 200, 400)
        assert counts[("TOTALS", "")] == (3, 9, 55611, 55911)
        assert counts[("SUBTOTAL 6103(i)", "(i)")] == (3, 7, 54411, 54511)
        assert len(table) == 8
        text = ledger_cli(led, "report", "p3c", "--year", "2024")
        assert text.returncode == 0, text.stderr
        assert "TOTALS" in text.stdout
        assert "47,289" in text.stdout

        # --- ledger report order --------------------------------------------------------
        done = ledger_cli(led, "report", "order", order_id, "--json")
        assert done.returncode == 0, done.stderr
        lines = json.loads(done.stdout)["transmissions"]
        assert [(x["disclosure_id"], x["status"]) for x in lines] == [
            (ok["disclosure_id"], "complied"),
            (late["disclosure_id"], "violation"),
            (small["disclosure_id"], "not bulk"),  # every covered transmission is listed
        ]
        assert [x["lead_hours"] for x in lines] == [25.0, 2.0, None]
        assert [(x["noticed_records"], x["actual_records"]) for x in lines] == [
            (5000, 3000),
            (5000, 4000),
            (None, 10),
        ]
        alerted = rows(
            led,
            "SELECT count(*) FROM alerts WHERE rule = 'bulk_without_notice' AND %s = ANY(evidence)",
            (ids[late["disclosure_id"]],),
        )
        assert alerted == [(1,)]  # the report and the alert agree
        table_out = ledger_cli(led, "report", "order", order_id)
        assert table_out.returncode == 0, table_out.stderr
        assert "violation" in table_out.stdout

        # --- the Privacy Act accounting -------------------------------------------------
        tin_file = tmp_path / "tin"
        tin_file.write_text(TIN)
        done = ledger_cli(led, "accounting", "--tin-file", str(tin_file), "--json")
        assert done.returncode == 0, done.stderr
        entries = {e["disclosure_id"]: e for e in json.loads(done.stdout)}
        assert set(entries) == {d1["disclosure_id"], d2["disclosure_id"], d3["disclosure_id"]}
        e1, e2, e3 = (entries[d["disclosure_id"]] for d in (d1, d2, d3))
        assert (e1["recipient_address"], e1["tax_periods"], e1["withheld_from_individual"]) == (
            "950 Pennsylvania Ave NW, Washington, DC",
            ["2022", "2023"],
            True,
        )
        # No address on the disclosure: the request's.
        assert (e2["recipient_address"], e2["withheld_from_individual"]) == (
            f"1 Main St, {ICE}",
            True,
        )
        assert (e3["recipient_address"], e3["tax_periods"], e3["withheld_from_individual"]) == (
            "1 Capitol Mall, Sacramento, CA",
            ["2023"],
            False,
        )
        assert TIN not in done.stdout

        # --- bad arguments: one line, a non-zero exit -----------------------------------
        for args in (
            ("report", "p3c", "--year", "20x5"),
            ("report", "order", "NO-SUCH-ORDER"),
            ("report", "order", stay_id),
        ):
            bad = ledger_cli(led, *args)
            assert bad.returncode == 2, (args, bad.stderr)
            assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
            assert "Traceback" not in bad.stderr
            assert bad.stdout == ""

        # Each report is recorded like the other reads.
        caught_up(led)
        recorded = rows(
            led,
            "SELECT body::jsonb->>'action', body::jsonb->>'role' FROM entries WHERE event_type = 'LedgerAccessed'"
            " AND body::jsonb->>'action' LIKE %s ORDER BY 1",
            ("report %",),
        )
        assert ("report p3c", "auditor") in recorded
        assert ("report order", "auditor") in recorded
    finally:
        running.stop()


def test_the_reports_over_the_api_for_auditors_only(api_server: ApiServer) -> None:
    """The demo's history through GET /api/reports: its spike year and its notice order."""

    def get(path: str, role: str) -> httpx.Response:
        headers = {"authorization": f"Bearer {api_server.tokens[role]}"}
        return httpx.get(api_server.url + path, headers=headers, timeout=30)

    report = get("/api/reports/p3c?year=2025", "auditor")
    assert report.status_code == 200, report.text
    rows = {(r["recipient"], r["subsection"]): r for r in report.json()["rows"]}
    spike_year = rows[(ICE, "(i)(2)")]
    assert spike_year["records"] >= demo_history.SPIKE_RECORDS
    assert spike_year["requests"] >= 1
    assert spike_year["disclosures"] >= 2 * demo_history.SPIKE_RECORDS  # two tax periods
    assert get("/api/reports/p3c?year=2025", "overseer").status_code == 403
    assert get("/api/reports/p3c?year=20x5", "auditor").status_code == 422

    order = get("/api/reports/orders/ECF-NOTICE-2025-09-05", "auditor")
    assert order.status_code == 200, order.text
    every = order.json()["transmissions"]
    # Every covered transmission is listed; the small ones are "not bulk".
    lines = [x for x in every if x["status"] != "not bulk"]
    assert [(x["notice_id"], x["status"]) for x in lines] == [
        ("N-2025-001", "complied"),
        ("N-2025-002", "violation"),
        ("N-2025-003", "complied"),  # its notice was entered after it, filed 30 hours before
    ]
    assert order.json()["violations"] == 1
    missing = get("/api/reports/orders/NO-SUCH-ORDER", "auditor")
    assert missing.status_code == 404
    assert missing.json()["error"]
    # The API gives the whole report, as `--json` does: terms over time, the notice each
    # verdict rests on (its event id, served_on) and the alert's status beside the verdict.
    full = order.json()
    assert full["order_type"] == "NOTICE_REQUIREMENT"
    assert full["terms"]
    assert "from" in full["terms"][0]
    assert full["disagreements"] == 0
    violation = next(x for x in every if x["status"] == "violation")
    assert violation["alert_status"] in ("open", "contested")
    assert violation["agrees_with_alert"] is True
    noticed = next(x for x in every if x["notice_id"] == "N-2025-001")
    assert noticed["notice_event_id"]
    assert noticed["notice_served_on"]
    # Stays: the demo has none; the report says so, and a notice order is not a stay.
    stays = get("/api/reports/stays", "auditor")
    assert stays.status_code == 200, stays.text
    assert stays.json() == {"orders": []}
    assert get("/api/reports/stays?order_id=ECF-NOTICE-2025-09-05", "auditor").status_code == 422
    assert get("/api/reports/stays?order_id=NO-SUCH-ORDER", "auditor").status_code == 404
    assert get("/api/reports/stays", "overseer").status_code == 403
