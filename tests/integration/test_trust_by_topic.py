"""Trust by topic: what the ledger delivers comes from what it stored, and webhooks never hold
a transaction (issue 23 item 6, issue 24 item 4). Real Kafka, PostgreSQL and HTTP receivers."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date

import pytest

from consumers.alert_delivery import AlertDeliveryConsumer
from consumers.runner import ConsumerRunner
from ledger.alert_events import alert_event
from ledger.events import AlertRaised
from ledger.kafka.producer import EventProducer
from ledger.rules.model import AlertDraft, LogScope, Severity
from ledger.runtime import Ledger
from ledger.store.alerts import insert_new_alerts
from ledger.store.connection import connection
from ledger.webhook_config import DeliveryConfig, Endpoint
from tests.integration.helpers import isolated_ledger, rows, wait_until
from tests.integration.test_alert_delivery import SECRET, Receiver

pytestmark = pytest.mark.integration
D = date(2025, 9, 1)


def draft(n: int) -> AlertDraft:
    return AlertDraft.about(
        "trust_test",
        Severity.CRITICAL,
        LogScope("trust", 0),
        D,
        str(n),
        observed=n,
        evidence=[f"trust/0@{n}"],
        legal_source="26 U.S.C. 6103(p)(3)(A)",
        message=f"test alert {n}",
    )


def store_and_publish(led: Ledger, drafts: list[AlertDraft]) -> list[AlertRaised]:
    """What a consumer does with an alert: stores it, then publishes it on the alerts topic."""
    with connection(led.writer_url, led.schema) as conn:
        insert_new_alerts(conn, drafts)
        conn.commit()
    return publish(led, [alert_event(d, "ledger/volume") for d in drafts])


def publish(led: Ledger, events: list[AlertRaised]) -> list[AlertRaised]:
    with EventProducer(led.bootstrap, led.topics.alerts) as producer:
        producer.send(events)
    return events


def run_delivery(led: Ledger, config: DeliveryConfig) -> tuple[ConsumerRunner, threading.Thread]:
    runner = ConsumerRunner(
        AlertDeliveryConsumer(config),
        led.bootstrap,
        led.writer_url,
        led.schema,
        led.topics.alerts,
        group_prefix=led.topics.prefix,
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    return runner, thread


def delivery_offset(led: Ledger) -> int:
    found = rows(
        led,
        "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE consumer = %s",
        ("alert_delivery",),
    )
    return int(found[0][0])


def test_forged_alert_on_alerts_topic_is_not_delivered(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "forged")
    receiver = Receiver()
    config = DeliveryConfig((Endpoint("oig", receiver.url, SECRET),), attempts=2, base_seconds=0.01)
    runner, thread = run_delivery(led, config)
    try:
        # Anyone who can write the alerts topic: an alert the ledger never stored, and a
        # stored alert's id carrying other contents (a critical alert made "info").
        stored = draft(1)
        forged = alert_event(draft(2), "ledger/volume")
        (genuine,) = store_and_publish(led, [stored])
        altered = AlertRaised.from_fields(
            {**genuine.to_record(), "event_id": str(uuid.uuid4()), "severity": "info"}
        )
        publish(led, [forged, altered])
        wait_until(lambda: delivery_offset(led) >= 3, timeout=90, what="all three records read")
        wait_until(
            lambda: (
                len(rows(led, "SELECT 1 FROM dead_letters WHERE consumer = 'alert_delivery'")) == 2
            ),
            timeout=60,
            what="both forgeries dead-lettered",
        )
        wait_until(lambda: receiver.accepted, timeout=60, what="the stored alert delivered")
        time.sleep(3)  # anything still to be posted would be posted by now
    finally:
        runner.stop.set()
        thread.join(30)
        receiver.close()
    assert receiver.accepted == [stored.alert_id]
    assert forged.alert_id not in receiver.posts
    findings = rows(
        led, "SELECT severity, message FROM alerts WHERE rule = 'unauthorized_event' ORDER BY 2"
    )
    assert len(findings) == 2
    assert {s for s, _ in findings} == {"critical"}
    assert any(forged.alert_id in m for _, m in findings)


def test_hanging_webhook_does_not_delay_commit(ledger_settings) -> None:
    led = isolated_ledger(ledger_settings, "hang")
    release = threading.Event()
    hung: list[float] = []

    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hangs(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hung.append(time.monotonic())
            release.wait(60)  # an endpoint that hangs for 60 s
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hangs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    config = DeliveryConfig((Endpoint("slow", url, SECRET),), attempts=1, timeout_seconds=120)
    runner, thread = run_delivery(led, config)
    try:
        store_and_publish(led, [draft(1)])
        wait_until(lambda: hung, timeout=90, what="the first webhook post")
        store_and_publish(led, [draft(2)])
        started = time.monotonic()
        # The next batch commits (its offset is stored) while the first post still hangs.
        wait_until(lambda: delivery_offset(led) >= 2, timeout=30, what="the next batch's commit")
        committed_after = time.monotonic() - started
        assert not release.is_set()
        release.set()
        # At-least-once and recorded: both alerts end with a recorded delivery.
        wait_until(
            lambda: (
                rows(led, "SELECT count(*) FROM alert_delivery_status WHERE outcome = 'delivered'")[
                    0
                ][0]
                == 2
            ),
            timeout=90,
            what="both deliveries recorded",
        )
    finally:
        release.set()
        runner.stop.set()
        thread.join(30)
        server.shutdown()
    assert committed_after < 30
    print(f"next batch committed {committed_after:.2f} s after its alert was published")


def test_ack_records_authenticated_identity(ledger_settings, tmp_path) -> None:
    import getpass
    import subprocess

    from consumers.service import start_consumers
    from ledger.store.tokens import create_token
    from tests.integration.helpers import caught_up, cli_env

    led = isolated_ledger(ledger_settings, "ack")
    first, second = draft(1), draft(2)
    with connection(led.writer_url, led.schema) as conn:
        insert_new_alerts(conn, [first, second])
        conn.commit()
    with connection(led.admin_url, led.schema) as conn:
        token = create_token(conn, "overseer", "oig duty desk")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    env = cli_env(led)
    env.pop("LEDGER_TOKEN_FILE", None)
    ack = ["ledger", "alerts", "ack", "--by", "Inspector General", "--note", "seen"]
    as_os_user = subprocess.run(
        [*ack, first.alert_id], env=env, capture_output=True, text=True, timeout=120
    )
    assert as_os_user.returncode == 0, as_os_user.stderr
    as_token = subprocess.run(
        [*ack, second.alert_id, "--token-file", str(token_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert as_token.returncode == 0, as_token.stderr
    running = start_consumers(led, ["audit_log", "volume"])
    try:
        caught_up(led)
    finally:
        running.stop()
    stored = dict(
        rows(led, "SELECT alert_id::text, acknowledged_by || ' | ' || note FROM acknowledgements")
    )
    assert stored == {
        first.alert_id: f'os:{getpass.getuser()} | [as "Inspector General"] seen',
        second.alert_id: 'token:oig duty desk | [as "Inspector General"] seen',
    }
    # Each acknowledgement is an entry of the signed log.
    logged = rows(led, "SELECT count(*) FROM entries WHERE event_type = 'AlertAcknowledged'")
    assert logged == [(2,)]
    # A token that is not an active overseer's is refused with one line, no traceback.
    token_file.write_text("ldg_not-a-token\n")
    refused = subprocess.run(
        [*ack, first.alert_id, "--token-file", str(token_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr


def test_court_event_on_disclosures_topic_is_refused(ledger_settings) -> None:
    from datetime import timedelta

    from consumers.service import start_consumers
    from ledger.codec import EventCodec
    from ledger.intake import build_event
    from ledger.ops.replay_command import run_replay
    from tests.integration.helpers import caught_up, disclosure, emit
    from tests.integration.test_alert_lifecycle import order, statuses, utc

    led = isolated_ledger(ledger_settings, "court")
    day = date(2025, 9, 23)
    stayed = f"Stayed Agency {uuid.uuid4().hex[:6]}"
    running = start_consumers(led, ["audit_log", "volume"])
    try:
        early, late = (
            e.event_id
            for e in emit(
                led,
                [
                    disclosure(day - timedelta(days=2), 10, stayed),
                    disclosure(day + timedelta(days=2), 10, stayed),
                ],
            )
        )
        stay = order(
            "STAY",
            stayed,
            utc(day - timedelta(days=5)),
            expires_at=utc(day + timedelta(days=5)).isoformat(),
        )
        [recorded] = emit(led, [stay])  # `ledger emit`'s producer: to the court topic
        caught_up(led)
        assert statuses(led, "disclosure_during_stay", early) == [("open", None, None)]
        # An agency writes a vacatur of the order on its own (disclosures) topic.
        forged = build_event(
            {
                "type": "CourtOrderVacated",
                "order_id": stay["order_id"],
                "vacated_at": utc(day).isoformat(),
                "reason": "vacated, says the agency",
                "ab_initio": True,
            }
        )
        with EventProducer(led.bootstrap, led.topics.disclosures) as producer:
            producer.send_raw(
                EventCodec().encode(forged),
                forged.key.encode(),
                [("event_type", b"CourtOrderVacated")],
            )
        caught_up(led)
        assert statuses(led, "disclosure_during_stay", early) == [("open", None, None)]
        assert statuses(led, "disclosure_during_stay", late) == [("open", None, None)]
        refused = rows(
            led,
            "SELECT kafka_topic, reason FROM dead_letters WHERE consumer = 'volume'",
        )
        assert [t for t, _ in refused] == [led.topics.disclosures]
        assert "court topic" in refused[0][1]
        finding = rows(led, "SELECT severity FROM alerts WHERE rule = 'unauthorized_event'")
        assert finding == [("critical",)]
        # The court's own record is an entry of the signed log, in a log of the court topic.
        [(log_id,)] = rows(
            led, "SELECT log_id FROM entries WHERE event_id = %s", (recorded.event_id,)
        )
        assert log_id.startswith(f"{led.topics.court}/")
        # The court's vacatur, on the court topic, is accepted.
        (vacatur,) = emit(
            led,
            [
                {
                    "type": "CourtOrderVacated",
                    "order_id": stay["order_id"],
                    "vacated_at": utc(day).isoformat(),
                    "reason": "on appeal",
                }
            ],
        )
        caught_up(led)
        [(vacatur_log,)] = rows(
            led, "SELECT log_id FROM entries WHERE event_id = %s", (vacatur.event_id,)
        )
        assert vacatur_log.startswith(f"{led.topics.court}/")
        assert not rows(led, "SELECT 1 FROM dead_letters WHERE reason LIKE %s", ("%vacat%",))
        # Accepted, it ends the stay from vacated_at on; what was done while the stay stood
        # stays a violation (collateral bar: docs/history.md), so the alert is not resolved.
        assert statuses(led, "disclosure_during_stay", late)[0][0] == "open"
    finally:
        running.stop()
    # A replay reads both topics in one append-time order and computes the same.
    assert run_replay(led.settings, show_progress=False).differences == []
