"""Reports that add up: the (p)(3)(C) table and the Privacy Act accounting, tried as an inspector
general's analyst would, through Kafka, the consumers, PostgreSQL and the `ledger` command run as
a subprocess (its exit status checked)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from consumers.service import start_consumers
from ledger.privacy import load_taxpayer_key, taxpayer_key_path, taxpayer_ref
from ledger.runtime import Ledger
from tests.integration.helpers import disclosure, isolated_ledger
from tests.integration.test_alert_lifecycle import send
from tests.integration.test_reports import ledger_cli

pytestmark = pytest.mark.integration

ICE = "U.S. Immigration and Customs Enforcement"
STATE = "State Tax Agency"
D_AUTH = "26 U.S.C. 6103(d)"
DAY = date(2019, 5, 6)


@pytest.fixture
def led(ledger_settings: Any) -> Iterator[Ledger]:
    ledger = isolated_ledger(ledger_settings, "addup")
    running = start_consumers(ledger)
    try:
        yield ledger
    finally:
        running.stop()


def ref_of(led: Ledger, tin: str) -> str:
    return taxpayer_ref(load_taxpayer_key(taxpayer_key_path(led.settings)), tin)


def ok(done: Any) -> str:
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def accounting(led: Ledger, tmp_path: Path, tin: str, *args: str) -> Any:
    tin_file = tmp_path / f"tin-{uuid.uuid4().hex[:6]}"
    tin_file.write_text(tin)
    return ledger_cli(led, "accounting", "--tin-file", str(tin_file), *args)


def amend(obj: dict[str, Any], **changes: str) -> dict[str, Any]:
    return {
        "type": "DisclosureAmended",
        "disclosure_id": obj["disclosure_id"],
        "recipient_agency": obj["recipient_agency"],
        "reason": "corrected figures",
        "changes": changes,
    }


def test_p3c_filtered_by_source_with_6103i_subtotal(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    refs = [ref_of(led, f"975-00-{n:04d}") for n in range(3)]
    send(
        led,
        [
            disclosure(DAY, 3, ICE, source=source, taxpayer_refs=refs),
            disclosure(DAY, 40, ICE, source=source, authority="26 U.S.C. 6103(i)(1)"),
            disclosure(DAY, 500, STATE, source=source, authority=D_AUTH, taxpayer_refs=refs[:1]),
            disclosure(DAY, 9_000, ICE, source="Other Source"),
        ],
    )
    report = json.loads(
        ok(ledger_cli(led, "report", "p3c", "--year", "2019", "--source", source, "--json"))
    )
    assert report["source"] == source
    table = {(r["recipient"], r["subsection"]): r for r in report["rows"]}
    assert table[(ICE, "(i)(2)")]["records"] == 3  # not the other source's 9,000
    assert table[(ICE, "(i)(2)")]["taxpayers"] == 3
    assert table[(ICE, "(i)(1)")]["taxpayers"] is None  # no refs: n/a, not zero
    assert table[(STATE, "(d)")]["taxpayers"] == 1
    subtotal = table[("SUBTOTAL 6103(i)", "(i)")]
    assert (subtotal["transmissions"], subtotal["records"]) == (2, 43)
    totals = table[("TOTALS", "")]
    assert (totals["transmissions"], totals["records"]) == (3, 543)
    text = ok(ledger_cli(led, "report", "p3c", "--year", "2019", "--source", source))
    assert "SUBTOTAL" in text
    assert "n/a" in text
    assert "9,000" not in text
    blank = ledger_cli(led, "report", "p3c", "--year", "2019", "--source", "  ")
    assert blank.returncode == 2, blank.stderr
    assert len(blank.stderr.strip().splitlines()) == 1
    assert "Traceback" not in blank.stderr


def test_p3c_marks_amended_figures(led: Ledger) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    first = disclosure(DAY, 700, ICE, source=source)
    send(led, [first])
    send(led, [amend(first, record_count="70")])
    report = json.loads(
        ok(ledger_cli(led, "report", "p3c", "--year", "2019", "--source", source, "--json"))
    )
    row = {(r["recipient"], r["subsection"]): r for r in report["rows"]}[(ICE, "(i)(2)")]
    assert row["records"] == 700  # as first recorded
    assert row["amended"] == 1
    assert row["records_as_amended"] == 70
    text = ok(ledger_cli(led, "report", "p3c", "--year", "2019", "--source", source))
    assert "700*" in text
    assert "amended" in text


def test_p3c_full_numbers_at_narrow_width(led: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    source = f"Source {uuid.uuid4().hex[:6]}"
    send(led, [disclosure(DAY, 1_234_567, ICE, source=source, tax_periods=["2017", "2018"])])
    args = ("report", "p3c", "--year", "2019", "--source", source)
    monkeypatch.setenv("COLUMNS", "40")
    text = ok(ledger_cli(led, *args))
    assert "1,234,567" in text
    assert "2,469,134" in text
    assert "…" not in text
    monkeypatch.setenv("COLUMNS", "250")
    wide = ok(ledger_cli(led, *args))
    for header in (
        "Records",
        "(taxpayer records)",
        "Disclosures",
        "(records x tax periods)",
        "Taxpayers",
        "(distinct refs)",
        "Transmissions",
        "(events)",
    ):
        assert header in wide


def test_accounting_joins_manifests_by_event_and_source(led: Ledger, tmp_path: Path) -> None:
    tin = "975-00-7001"
    reused = f"D-REUSED-{uuid.uuid4().hex[:6]}"
    office = f"Office {uuid.uuid4().hex[:6]}"
    a = disclosure(
        DAY,
        1,
        office,
        source="Source A",
        authority="26 U.S.C. 6103(i)(1)",
        disclosure_id=reused,
        recorded_by="a-system",
    )
    b = disclosure(DAY, 1, office, source="Source B", disclosure_id=reused, recorded_by="b-system")
    chunk = {
        "type": "DisclosureManifest",
        "disclosure_id": reused,
        "recipient_agency": office,
        "chunk_index": 0,
        "chunk_count": 1,
        "taxpayer_refs": [ref_of(led, tin)],
        "recorded_by": "b-system",
    }
    send(led, [a, b, chunk])
    listed = json.loads(ok(accounting(led, tmp_path, tin, "--json")))
    # Source A's disclosure of the same id lists nobody: only source B's chunk names the TIN.
    assert [(e["disclosure_id"], e["authority"]) for e in listed] == [
        (reused, "26 U.S.C. 6103(i)(2)")
    ]
    assert listed[0]["source_agency"] == "Source B"


def test_accounting_flags_refs_not_matching_record_count(led: Ledger, tmp_path: Path) -> None:
    tin = "975-00-7002"
    ref = ref_of(led, tin)
    fewer = disclosure(DAY, 3, ICE, taxpayer_refs=[ref])
    exact = disclosure(DAY, 1, ICE, taxpayer_refs=[ref])
    more = disclosure(DAY, 1, ICE, taxpayer_refs=[ref, ref_of(led, "975-00-7003")])
    send(led, [fewer, exact, more])
    listed = {
        e["disclosure_id"]: e for e in json.loads(ok(accounting(led, tmp_path, tin, "--json")))
    }
    got = {d["disclosure_id"]: listed[d["disclosure_id"]] for d in (fewer, exact, more)}
    assert [(e["listed_taxpayers"], e["refs_reconcile"]) for e in got.values()] == [
        (1, False),
        (1, True),
        (2, False),
    ]
    text = ok(accounting(led, tmp_path, tin))
    assert "lists 1 taxpayer for 3 records" in text
    assert "lists 2 taxpayers for 1 record" in text


def test_accounting_shows_withdrawn_and_amended_in_the_table(led: Ledger, tmp_path: Path) -> None:
    tin = "975-00-7004"
    obj = disclosure(DAY, 2, ICE, taxpayer_refs=[ref_of(led, tin)])
    send(led, [obj])
    send(led, [amend(obj, withdrawn="true")])
    text = ok(accounting(led, tmp_path, tin))
    assert "withdrawn" in text
    assert obj["disclosure_id"] in text


def test_accounting_states_its_basis(led: Ledger, tmp_path: Path) -> None:
    text = " ".join(ok(accounting(led, tmp_path, "975-00-7005")).split())
    assert "5 U.S.C. 552a(c)(3)" in text
    assert "(c)(1)" in text
    assert "(b)(7)" in text
    assert "26 U.S.C. 6103(p)(3)(A)" in text


def test_accounting_none_says_what_it_covers(led: Ledger, tmp_path: Path) -> None:
    send(
        led,
        [
            disclosure(DAY, 5, ICE),
            disclosure(DAY, 7, STATE, authority=D_AUTH),
            disclosure(DAY, 1, ICE, taxpayer_refs=[ref_of(led, "975-00-7006")]),
        ],
    )
    done = accounting(led, tmp_path, "975-00-7007")
    text = " ".join(ok(done).split())
    assert "no disclosure that lists taxpayers names this taxpayer" in text
    assert "2 disclosures (12 records) carry no taxpayer list and cannot be checked" in text
