"""The oversight API over the demo history, through a real uvicorn server, Kafka and PostgreSQL."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from ledger.demo import history as demo_history
from ledger.errors import VerificationError
from ledger.keys import load_signers, signing_key_path
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.tlog.offline import check_proof_file
from tests.fixtures_scenario import ApiServer
from tests.fixtures_services import service_log_files
from tests.integration.helpers import wait_until

pytestmark = pytest.mark.integration

ROLE_RANK = {"public": 0, "overseer": 1, "auditor": 2}
TIN = demo_history.example_tin()  # included in the spike transmission's manifest
OTHER_TIN = "975990001"  # shaped like the synthetic ones, in no manifest


def request(
    api: ApiServer, method: str, path: str, role: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"authorization": f"Bearer {api.tokens[role]}"} if role else {}
    headers.update(kw.pop("headers", {}))
    return httpx.request(method, api.url + path, headers=headers, timeout=30, **kw)


def any_event_id(api: ApiServer) -> str:
    body = request(api, "GET", "/api/disclosures?limit=1", "auditor").json()
    return str(body["disclosures"][0]["event_id"])


def endpoints(event_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, least role, request kwargs) for every endpoint that needs a token."""
    return [
        ("GET", "/api/disclosures", "overseer", {}),
        ("GET", "/api/volume?kind=authority", "public", {}),
        ("GET", "/api/alerts", "public", {}),
        ("GET", "/api/notices", "overseer", {}),
        ("GET", "/api/court-orders", "overseer", {}),
        ("GET", "/api/checkpoints", "overseer", {}),
        ("GET", f"/api/entries/{event_id}", "overseer", {}),
        ("GET", f"/api/entries/{event_id}/proof", "overseer", {}),
        ("POST", "/api/accounting", "auditor", {"json": {"tin": OTHER_TIN}}),
        ("GET", "/api/reports/p3c?year=2025", "auditor", {}),
        ("GET", "/api/reports/orders/ECF-NOTICE-2025-09-05", "auditor", {}),
        ("GET", "/metrics", "public", {}),
        ("GET", "/", "overseer", {}),
    ]


def test_auth_matrix_every_endpoint_every_role(api_server: ApiServer) -> None:
    event_id = any_event_id(api_server)
    checked = 0
    for method, path, least, kw in endpoints(event_id):
        for role in (None, "bogus", *ROLE_RANK):
            if role == "bogus":
                r = request(
                    api_server, method, path, headers={"authorization": "Bearer ldg_wrong"}, **kw
                )
            else:
                r = request(api_server, method, path, role, **kw)
            if role in (None, "bogus"):
                expected = 401
            else:
                expected = 200 if ROLE_RANK[role] >= ROLE_RANK[least] else 403
            assert r.status_code == expected, (method, path, role, r.status_code, r.text[:200])
            if expected != 200 and path != "/":
                assert r.json()["error"], (method, path, role)
            checked += 1
    assert checked == len(endpoints(event_id)) * 5
    assert request(api_server, "GET", "/health").json() == {"status": "ok"}


def test_public_role_sees_counts_not_alert_details(api_server: ApiServer) -> None:
    public = request(api_server, "GET", "/api/alerts", "public").json()
    overseer = request(api_server, "GET", "/api/alerts", "overseer").json()
    assert set(public) == {"counts"}
    # 7 August: ICE, DHS, ICE under 6103(i)(2), 6103(i)(2) and all of 6103(i) (the spike exceeds
    # the year's 43,141 U.S. Attorneys' (i) records too).
    assert public["counts"]["spike_over_prior_year"] == 5
    # 8 to 11 September: the FBI is new (12,000 records: critical); the split is over DOJ's year.
    assert public["counts"]["new_recipient"] == 1
    assert public["counts"]["sustained_over_prior_year"] == 1
    assert "new_authority" not in public["counts"]  # the warm-up year raises none
    assert sum(public["counts"].values()) == len(overseer["alerts"])
    assert all("evidence" in a and "delivery" in a for a in overseer["alerts"])


def test_alerts_are_listed_by_status(api_server: ApiServer) -> None:
    every = request(api_server, "GET", "/api/alerts", "overseer").json()["alerts"]
    resolved = request(api_server, "GET", "/api/alerts?status=resolved", "overseer").json()
    # Later facts only contest: the demo's notice entered after its transmission and its
    # amendment of 7 August leave those alerts open, contested, beside critical findings.
    assert resolved["alerts"] == []
    still_open = request(api_server, "GET", "/api/alerts?status=open", "overseer").json()
    assert len(still_open["alerts"]) == len(every)
    contested = [a for a in every if (a["status_reason"] or "").startswith("contested: ")]
    assert {a["rule"] for a in contested} == {"bulk_without_notice", "spike_over_prior_year"}
    [bulk] = [a for a in contested if a["rule"] == "bulk_without_notice"]
    assert "N-2025-003" in bulk["status_reason"]
    findings = [a for a in every if a["rule"] == "finding_contested"]
    assert len(findings) == len(contested)
    assert {a["severity"] for a in findings} == {"critical"}
    counts = request(api_server, "GET", "/api/alerts?status=resolved", "public").json()
    assert counts == {"counts": {}}
    wrong = request(api_server, "GET", "/api/alerts?status=closed", "overseer")
    assert 400 <= wrong.status_code < 500
    assert set(wrong.json()) == {"error"}


def test_alerts_and_volume_filter_by_any_spelling_of_a_scope(api_server: ApiServer) -> None:
    spikes = request(
        api_server,
        "GET",
        "/api/alerts?rule=spike_over_prior_year&kind=authority&scope=26%20USC%206103(i)",
        "overseer",
    ).json()["alerts"]
    assert [a["scope"] for a in spikes] == ["IRS -> authority 6103(i)"]
    split = request(
        api_server, "GET", "/api/alerts?kind=recipient&scope=Department%20of%20Justice", "overseer"
    ).json()["alerts"]
    assert [a["rule"] for a in split] == ["sustained_over_prior_year"]
    pair = request(
        api_server,
        "GET",
        "/api/volume?kind=pair&value=Immigration%20and%20Customs%20Enforcement%20under%20"
        "I.R.C.%206103(i)(2)",
        "public",
    ).json()["days"]
    assert max(d["records"] for d in pair) == demo_history.SPIKE_RECORDS
    bad = request(api_server, "GET", "/api/alerts?kind=agency", "overseer")
    assert bad.status_code == 422
    day = "since=2025-08-07&until=2025-08-07"
    dhs = request(
        api_server, "GET", f"/api/disclosures?recipient=Homeland%20Security&{day}", "overseer"
    ).json()
    assert [d["record_count"] for d in dhs["disclosures"]] == [demo_history.SPIKE_RECORDS]
    assert dhs["disclosures"][0]["recipient_agency"] == demo_history.ICE  # as the event spelt it
    family = request(
        api_server, "GET", "/api/disclosures?authority=IRC%206103(i)&limit=1000", "overseer"
    ).json()
    assert {d["legal_authority"] for d in family["disclosures"]} == {
        demo_history.I1,
        demo_history.I2,
    }
    split = request(
        api_server, "GET", "/api/disclosures?recipient=DOJ&since=2025-09-08", "overseer"
    ).json()
    assert split["total"] == 4  # the FBI's four days, counted under the Justice Department
    nobody = request(api_server, "GET", "/api/disclosures?recipient=Nobody", "overseer").json()
    assert nobody["total"] == 0


def test_the_scopes_first_seen_while_warming_up(api_server: ApiServer) -> None:
    found = request(api_server, "GET", "/api/alerts?first_seen=true", "overseer").json()
    scopes = {r["scope"]: r for r in found["first_seen"]}
    assert {"IRS -> recipient ICE", "IRS -> recipient DHS", "IRS -> authority 6103(i)"} <= set(
        scopes
    )
    assert "IRS -> recipient FBI" not in scopes  # first seen after the warm-up: new_recipient
    assert all(r["first_day"] < "2025-08-07" for r in found["first_seen"])
    public = request(api_server, "GET", "/api/alerts?first_seen=true", "public").json()
    assert set(public) == {"counts"}


def test_disclosures_paging_is_complete_and_disjoint(api_server: ApiServer) -> None:
    first = request(api_server, "GET", "/api/disclosures?limit=1000", "overseer").json()
    total = first["total"]
    seen = [d["event_id"] for d in first["disclosures"]]
    offset = 1000
    while offset < total:
        page = request(
            api_server, "GET", f"/api/disclosures?limit=1000&offset={offset}", "overseer"
        ).json()
        assert page["total"] == total
        seen += [d["event_id"] for d in page["disclosures"]]
        offset += 1000
    assert len(seen) == len(set(seen)) == total
    with connection(api_server.ledger.reader_url, api_server.ledger.schema) as conn:
        assert conn.execute("SELECT count(*) FROM disclosures").fetchone()[0] == total


def test_filters_find_the_spike_day(api_server: ApiServer) -> None:
    q = "/api/disclosures?recipient=U.S. Immigration and Customs Enforcement&since=2025-08-07&until=2025-08-07"
    body = request(api_server, "GET", q, "overseer").json()
    assert [d["record_count"] for d in body["disclosures"]] == [demo_history.SPIKE_RECORDS]
    volume = request(
        api_server,
        "GET",
        "/api/volume?kind=recipient&value=U.S. Immigration and Customs Enforcement"
        "&since=2025-08-07&until=2025-08-07",
        "public",
    ).json()["days"]
    assert volume[0]["records"] == demo_history.SPIKE_RECORDS
    assert volume[0]["records"] > volume[0]["prior_365_records"] > 0


@pytest.mark.parametrize(
    ("method", "path", "kw", "names"),
    [
        ("GET", "/api/disclosures?limit=0", {}, "limit"),
        ("GET", "/api/disclosures?limit=many", {}, "limit"),
        ("GET", "/api/disclosures?offset=-1", {}, "offset"),
        ("GET", "/api/disclosures?since=2025-13-01", {}, "since"),
        ("GET", "/api/disclosures?from=2025-01-01", {}, "from"),
        ("GET", "/api/volume?kind=taxpayer", {}, "kind"),
        ("GET", "/api/entries/not-a-uuid", {}, "event_id"),
        ("POST", "/api/accounting", {"json": {}}, "tin"),
        ("POST", "/api/accounting", {"json": {"tin": "97500424"}}, "9 digits"),
        ("POST", "/api/accounting", {"content": b"tin=975004242"}, "body"),
    ],
)
def test_bad_parameters_get_422_with_a_clear_one_line_message(
    api_server: ApiServer, method: str, path: str, kw: dict[str, Any], names: str
) -> None:
    r = request(api_server, method, path, "auditor", **kw)
    assert r.status_code == 422, r.text
    message = r.json()["error"]
    assert names in message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "97500424" not in message  # input is never echoed back


def test_unknown_entry_is_404(api_server: ApiServer) -> None:
    r = request(api_server, "GET", "/api/entries/00000000-0000-4000-8000-000000000000", "overseer")
    assert r.status_code == 404
    assert "no entry" in r.json()["error"]


def test_downloaded_proof_verifies_offline(api_server: ApiServer, tmp_path: Path) -> None:
    event_id = any_event_id(api_server)
    r = request(api_server, "GET", f"/api/entries/{event_id}/proof", "overseer")
    assert r.headers["content-disposition"].startswith("attachment")
    saved = tmp_path / "proof.json"
    saved.write_bytes(r.content)
    vkeys = [s.vkey for s in load_signers(signing_key_path(api_server.ledger.settings))]
    assert check_proof_file(saved, vkeys).kind == "inclusion"
    tampered = r.json() | {"leaf_index": r.json()["leaf_index"] ^ 1}
    saved.write_text(json.dumps(tampered))
    with pytest.raises(VerificationError):
        check_proof_file(saved, vkeys)


def all_rows_of_schema(ledger: Ledger) -> list[tuple[str, Any]]:
    with connection(ledger.admin_url, ledger.schema) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                " AND table_type = 'BASE TABLE'",
                (ledger.schema,),
            ).fetchall()
        ]
        return [(t, row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"').fetchall()]


def all_messages(ledger: Ledger) -> list[bytes]:
    topics = [ledger.topics.disclosures, ledger.topics.alerts, ledger.topics.dlq]
    consumer = KafkaConsumer(bootstrap_servers=ledger.bootstrap, enable_auto_commit=False)
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: list[bytes] = []
        while any(consumer.position(p) < ends[p] for p in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    out.append(m.value or b"")
                    out.extend(v for _, v in m.headers)
        return out
    finally:
        consumer.close()


def contains_tin(blob: Any, forms: tuple[str, ...]) -> bool:
    if isinstance(blob, bytes | bytearray | memoryview):
        raw = bytes(blob)
        return any(f.encode() in raw for f in forms)
    if isinstance(blob, tuple | list):
        return any(contains_tin(x, forms) for x in blob)
    if isinstance(blob, dict):
        return any(contains_tin(x, forms) for x in blob.values())
    return any(f in str(blob) for f in forms)


def test_accounting_finds_the_taxpayer_and_stores_no_tin(
    api_server: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dashed = f"{TIN[:3]}-{TIN[3:5]}-{TIN[5:]}"
    found = request(api_server, "POST", "/api/accounting", "auditor", json={"tin": dashed}).json()
    assert [d["disclosure_id"] for d in found["disclosures"]] == ["D-20250807-900000"]
    assert found["disclosures"][0]["recipient_agency"] == "U.S. Immigration and Customs Enforcement"
    other = request(api_server, "POST", "/api/accounting", "auditor", json={"tin": OTHER_TIN})
    assert other.json()["disclosures"] == []
    assert other.json()["coverage"].startswith("None: no disclosure that lists taxpayers names")

    ledger = api_server.ledger
    # The accounting itself is recorded in the verifiable log, without the TIN.
    accounted = wait_until(lambda: _accounting_entries(ledger), 30, "the accounting access event")
    assert all(e["query"] == {"kind": "privacy-act-accounting"} for e in accounted)

    forms = (TIN, dashed, OTHER_TIN)
    control = ("D-20250807-900000",)  # the scans must be able to see what is there
    table_rows, messages = all_rows_of_schema(ledger), all_messages(ledger)
    logs = [f.read_bytes() for f in service_log_files()]
    assert any(contains_tin(row, control) for _, row in table_rows)
    assert any(contains_tin(m, control) for m in messages)
    assert not [t for t, row in table_rows if contains_tin(row, forms)]
    assert not [m for m in messages if contains_tin(m, forms)]
    assert not [r.getMessage() for r in caplog.records if contains_tin(r.getMessage(), forms)]
    assert not [blob[:80] for blob in logs if contains_tin(blob, forms)]


def _accounting_entries(ledger: Ledger) -> list[dict[str, Any]]:
    with connection(ledger.admin_url, ledger.schema) as conn:
        rows = conn.execute(
            "SELECT body::jsonb AS body FROM entries WHERE event_type = 'LedgerAccessed'"
            " AND body::jsonb->>'action' = 'POST /api/accounting' AND body::jsonb->>'accessor' = 'test-auditor'"
        ).fetchall()
    return [r[0] for r in rows]


def test_every_call_is_recorded_as_an_access_event(api_server: ApiServer) -> None:
    r = request(
        api_server, "GET", "/api/disclosures?recipient=Bureau of the Census&limit=7", "overseer"
    )
    assert r.status_code == 200

    def recorded() -> list[dict[str, Any]]:
        with connection(api_server.ledger.admin_url, api_server.ledger.schema) as conn:
            return [
                row[0]
                for row in conn.execute(
                    "SELECT body::jsonb AS body FROM entries WHERE event_type = 'LedgerAccessed' AND body::jsonb->>'accessor' = 'test-overseer'"
                    " AND body::jsonb->'query'->>'recipient' = 'Bureau of the Census'"
                ).fetchall()
            ]

    found = wait_until(recorded, 30, "the access event in the log")
    assert found[0]["role"] == "overseer"
    assert found[0]["records_returned"] == 7
    assert found[0]["action"] == "GET /api/disclosures"
