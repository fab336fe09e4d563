"""Canonical scopes end to end through Kafka and PostgreSQL: spellings, ancestry, split transfers."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from consumers.service import RunningConsumers, start_consumers
from ledger.ops.replay_command import run_replay
from ledger.runtime import Ledger
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

D = date(2025, 9, 11)
SPLIT = (12_000, 11_900, 11_800, 11_589)  # 47,289 records on D-3 .. D


@pytest.fixture(scope="module")
def live(ledger_settings) -> Iterator[tuple[Ledger, RunningConsumers]]:
    ledger = isolated_ledger(ledger_settings, "scopes")
    running = start_consumers(ledger)
    yield ledger, running
    running.stop()
    assert not running.errors, running.errors


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def volume(ledger: Ledger, source: str) -> dict[tuple[str, str], int]:
    """Records per (scope kind, value) of ``source`` over all days."""
    found = rows(
        ledger,
        "SELECT scope_kind, scope_value, sum(records) FROM daily_volume"
        " WHERE source_agency = %s GROUP BY 1, 2",
        (source,),
    )
    return {(kind, value): int(total) for kind, value, total in found}


def alerts(ledger: Ledger, source: str, rule: str | None = None) -> list[tuple[Any, ...]]:
    return rows(
        ledger,
        "SELECT rule, severity, scope, day, observed, threshold FROM alerts"
        " WHERE scope_source = %s AND (%s::text IS NULL OR rule = %s) ORDER BY day, rule, scope",
        (source, rule, rule),
    )


def test_two_spellings_are_one_authority_and_count_in_every_family_and_parent(live) -> None:
    ledger, _ = live
    source = unique("Spelling source")
    emit(
        ledger,
        [
            disclosure(D, 10, "ICE", source=source, authority="26 USC 6103(i)(2)"),
            disclosure(D, 20, "U.S. Immigration and Customs Enforcement", source=source),
            disclosure(
                D,
                5,
                "Immigration and Customs Enforcement",
                source=source,
                authority="IRC § 6103(i)(2)(A)",
            ),
            disclosure(D, 7, "US Attorneys", source=source, authority="I.R.C. 6103(i)(1)"),
        ],
    )
    caught_up(ledger)
    assert volume(ledger, source) == {
        ("recipient", "ICE"): 35,
        ("recipient", "DHS"): 35,
        ("recipient", "EOUSA"): 7,
        ("recipient", "DOJ"): 7,
        ("authority", "6103(i)(2)"): 35,
        ("authority", "6103(i)(2)(A)"): 5,
        ("authority", "6103(i)(1)"): 7,
        ("authority", "6103(i)"): 42,  # all of 6103(i): the JCT's comparison
        ("pair", "ICE under 6103(i)(2)"): 30,
        ("pair", "ICE under 6103(i)(2)(A)"): 5,
        ("pair", "EOUSA under 6103(i)(1)"): 7,
        ("source", ""): 42,
    }
    # The raw text stays in the disclosures table.
    raw = rows(
        ledger,
        "SELECT DISTINCT legal_authority FROM disclosures WHERE source_agency = %s ORDER BY 1",
        (source,),
    )
    assert [r[0] for r in raw] == [
        "26 U.S.C. 6103(i)(2)",
        "26 USC 6103(i)(2)",
        "I.R.C. 6103(i)(1)",
        "IRC § 6103(i)(2)(A)",
    ]


def order(recipients: list[str], authorities: list[str], day: date) -> dict[str, Any]:
    return {
        "type": "CourtOrderRecorded",
        "order_id": f"O-{uuid.uuid4().hex[:8]}",
        "case_reference": "1:25-cv-12822",
        "court": "U.S. District Court for the District of Massachusetts",
        "order_type": "STAY",
        "entered_at": at(day, 9),
        "effective_at": at(day, 9),
        "expires_at": at(day + timedelta(days=2), 9),
        "recipients": recipients,
        "authorities": authorities,
        "bulk_threshold": None,
        "notice_hours": 24,
        "description": "A stay naming the Department, not its components",
    }


def test_a_stay_naming_dhs_covers_an_ice_disclosure(live) -> None:
    ledger, _ = live
    source = unique("Stay source")
    # Days of its own: the other tests' disclosures on D are not in the stay (a replay stores
    # every order of a batch before judging its disclosures).
    day = D + timedelta(days=60)
    stay = order(["Department of Homeland Security"], ["26 U.S.C. 6103(i)"], day)
    emit(ledger, [stay])
    (ice, fbi, later) = emit(
        ledger,
        [
            disclosure(day, 3, "U.S. Immigration and Customs Enforcement", source=source),
            disclosure(day, 3, "FBI", source=source),
            disclosure(day + timedelta(days=3), 3, "ICE", source=source),
        ],
    )
    caught_up(ledger)
    found = rows(
        ledger,
        "SELECT scope, evidence FROM alerts WHERE rule = 'disclosure_during_stay'"
        " AND scope_source = %s",
        (source,),
    )
    assert [scope for scope, _ in found] == [f"{source} -> recipient ICE"]
    assert ice.event_id in found[0][1]
    assert all(e.event_id not in found[0][1] for e in (fbi, later))


def split_history(source: str) -> list[dict[str, Any]]:
    """Coverage from 400 days back; 37,200 records to the U.S. Attorneys under 6103(i)(1) in
    the year before the split's week, none in the 90 days before it (so the 90-day window does
    not count ordinary flow against a year that no longer holds it)."""
    i1 = "26 U.S.C. 6103(i)(1)"
    old = [disclosure(D - timedelta(days=400), 1, "US Attorneys", source=source, authority=i1)]
    return old + [
        disclosure(
            D - timedelta(days=95 + 9 * n), 1200, "US Attorneys", source=source, authority=i1
        )
        for n in range(37)
    ]


def sustained_scopes(source: str) -> list[tuple[Any, ...]]:
    """Where the split is over the prior year: the Justice Department (the U.S. Attorneys' year
    against the FBI's four days), all of 6103(i), and the source as a whole."""
    return [
        ("sustained_over_prior_year", "critical", scope, D, 47_289, 37_200)
        for scope in (source, f"{source} -> authority 6103(i)", f"{source} -> recipient DOJ")
    ]


def test_a_transfer_split_over_four_days_raises_sustained_over_prior_year(live) -> None:
    ledger, _ = live
    source = unique("Split source")
    emit(ledger, split_history(source))
    split = emit(
        ledger,
        [
            disclosure(D - timedelta(days=3 - n), records, "FBI", source=source)
            for n, records in enumerate(SPLIT)
        ],
    )
    caught_up(ledger)
    assert alerts(ledger, source, "sustained_over_prior_year") == sustained_scopes(source)
    evidence = rows(
        ledger,
        "SELECT DISTINCT evidence FROM alerts WHERE rule = 'sustained_over_prior_year'"
        " AND scope_source = %s",
        (source,),
    )
    assert evidence == [([split[3].event_id],)]
    assert alerts(ledger, source, "spike_over_prior_year") == []  # no day alone
    exe = shutil.which("ledger")
    assert exe, "the ledger console script is not installed"
    listed = subprocess.run(
        [exe, "alerts", "--kind", "recipient", "--scope", "Department of Justice", "--json"],
        env=cli_env(ledger), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    mine = [a for a in json.loads(listed.stdout)["alerts"] if a["scope_source"] == source]
    assert [(a["rule"], a["scope"]) for a in mine] == [
        ("sustained_over_prior_year", f"{source} -> recipient DOJ")
    ]
    news = [(r[0], r[1], r[2], r[3]) for r in alerts(ledger, source) if r[0].startswith("new_")]
    first = D - timedelta(days=3)
    assert news == [
        ("new_authority", "critical", f"{source} -> authority 6103(i)(2)", first),
        ("new_recipient", "critical", f"{source} -> recipient FBI", first),
    ]


def test_a_late_day_re_evaluates_the_windows_it_falls_into(live) -> None:
    ledger, _ = live
    source = unique("Late split source")
    emit(ledger, split_history(source))
    days = [D - timedelta(days=3 - n) for n in range(4)]
    first = [disclosure(days[n], SPLIT[n], "FBI", source=source) for n in (0, 1, 3)]
    emit(ledger, first)
    caught_up(ledger)
    assert alerts(ledger, source, "sustained_over_prior_year") == []  # 35,489 < 37,200
    (late,) = emit(ledger, [disclosure(days[2], SPLIT[2], "FBI", source=source)])
    caught_up(ledger)
    assert alerts(ledger, source, "sustained_over_prior_year") == sustained_scopes(source)
    evidence = rows(
        ledger,
        "SELECT DISTINCT evidence FROM alerts WHERE rule = 'sustained_over_prior_year'"
        " AND scope_source = %s",
        (source,),
    )
    assert evidence == [([late.event_id],)]
    result = run_replay(ledger.settings, show_progress=False)
    assert result.differences == []
    assert result.equal


def test_a_fresh_ledger_warms_up_silently_and_lists_what_it_first_saw(ledger_settings) -> None:
    ledger = isolated_ledger(ledger_settings, "firstseen")
    source = "Internal Revenue Service"
    emit(
        ledger,
        [
            disclosure(D, 40_000, "ICE", source=source),
            disclosure(D, 7, "U.S. Attorneys", source=source, authority="26 USC 6103(i)(1)"),
            disclosure(D + timedelta(days=1), 9, "ICE", source=source),
        ],
    )
    running = start_consumers(ledger)
    try:
        caught_up(ledger)
    finally:
        running.stop()
    assert rows(ledger, "SELECT rule FROM alerts WHERE rule LIKE 'new_%%'") == []
    exe = shutil.which("ledger")
    assert exe, "the ledger console script is not installed"
    done = subprocess.run(
        [exe, "alerts", "--first-seen", "--json"],
        env=cli_env(ledger),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = {
        (r["scope"], r["first_day"], r["records"]) for r in json.loads(done.stdout)["first_seen"]
    }
    day = D.isoformat()
    assert listed == {
        ("IRS -> recipient ICE", day, 40_000),
        ("IRS -> recipient DHS", day, 40_000),
        ("IRS -> recipient EOUSA", day, 7),
        ("IRS -> recipient DOJ", day, 7),
        ("IRS -> authority 6103(i)(2)", day, 40_000),
        ("IRS -> authority 6103(i)(1)", day, 7),
        ("IRS -> authority 6103(i)", day, 40_007),
    }
    table = subprocess.run(
        [exe, "alerts", "--first-seen"], env=cli_env(ledger), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "IRS -> recipient ICE" in table.stdout
    plain = subprocess.run(
        [exe, "alerts"], env=cli_env(ledger), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert "still warming up for IRS" in " ".join(plain.stdout.split())
    series = subprocess.run(
        [exe, "query", "--volume", "pair", "--recipient", "Immigration and Customs Enforcement",
         "--authority", "I.R.C. § 6103(i)(2)", "--json"],
        env=cli_env(ledger), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert series.returncode == 0, series.stderr
    assert [(r["scope_value"], r["records"]) for r in json.loads(series.stdout)] == [
        ("ICE under 6103(i)(2)", 40_000),
        ("ICE under 6103(i)(2)", 9),
    ]
    bad = subprocess.run(
        [exe, "alerts", "--kind", "agency"], env=cli_env(ledger), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "scope kind must be recipient, authority, pair or source" in bad.stderr
    assert "Traceback" not in bad.stderr
