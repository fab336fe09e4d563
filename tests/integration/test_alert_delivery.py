"""Webhook delivery against a real local HTTP receiver, through the real broker and server."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consumers.alert_delivery import AlertDeliveryConsumer
from consumers.runner import ConsumerRunner
from consumers.service import start_consumers
from ledger.ops.acknowledge import acknowledge
from ledger.webhook_config import DeliveryConfig, Endpoint
from ledger.webhooks import WebhookVerificationError, verify
from tests.integration.helpers import caught_up, disclosure, emit, isolated_ledger, rows, wait_until

pytestmark = pytest.mark.integration
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
D = date(2025, 8, 7)


class Receiver:
    """A webhook receiver that verifies signatures and can be told to fail the first N posts."""

    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.fail_first, self.status = fail_first, status
        self.posts: list[str] = []
        self.accepted: list[str] = []
        self.rejected_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    verify(dict(self.headers.items()), body, SECRET)
                except WebhookVerificationError:
                    receiver.rejected_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.posts.append(self.headers["webhook-id"])
                if len(receiver.posts) <= receiver.fail_first:
                    self.send_response(receiver.status)
                else:
                    receiver.accepted.append(self.headers["webhook-id"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def spike_ledger(ledger_settings):
    led = isolated_ledger(ledger_settings, "hooks")
    running = start_consumers(led, ["audit_log", "volume"])
    try:
        emit(
            led,
            [
                disclosure(D - timedelta(days=400), 1, "Hook recipient"),
                disclosure(D - timedelta(days=3), 10, "Hook recipient"),
                disclosure(D, 1000, "Hook recipient"),
            ],
        )
        caught_up(led)
    finally:
        running.stop()
    return led


def run_delivery(led, config: DeliveryConfig) -> tuple[ConsumerRunner, threading.Thread]:
    consumer = AlertDeliveryConsumer(config)
    runner = ConsumerRunner(
        consumer,
        led.bootstrap,
        led.writer_url,
        led.schema,
        led.topics.alerts,
        group_prefix=led.topics.prefix,
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    return runner, thread


def spike_ids(led) -> set[str]:
    return {r[0] for r in rows(led, "SELECT alert_id::text FROM alerts")}


def test_signed_delivery_retried_until_accepted_exactly_once_per_alert(spike_ledger) -> None:
    led = spike_ledger
    receiver = Receiver(fail_first=2)
    config = DeliveryConfig(
        (Endpoint("oig", receiver.url, SECRET),), attempts=5, base_seconds=0.05, factor=2.0
    )
    runner, thread = run_delivery(led, config)
    try:
        expected = spike_ids(led)
        wait_until(
            lambda: set(receiver.accepted) == expected, timeout=60, what="every alert accepted"
        )
        wait_until(
            lambda: (
                rows(led, "SELECT count(*) FROM alert_delivery_status WHERE outcome = 'delivered'")[
                    0
                ][0]
                == len(expected)
            ),
            what="delivered rows",
        )
    finally:
        runner.stop.set()
        thread.join(30)
        receiver.close()
    assert receiver.rejected_signatures == 0
    assert sorted(receiver.accepted) == sorted(expected)  # each alert accepted exactly once
    assert len(receiver.posts) == len(expected) + 2
    # A second delivery consumer (restart, redelivery) sends nothing again.
    again = Receiver()
    runner, thread = run_delivery(
        led, DeliveryConfig((Endpoint("oig", again.url, SECRET),), attempts=2, base_seconds=0.01)
    )
    try:
        import time

        time.sleep(3)
    finally:
        runner.stop.set()
        thread.join(30)
        again.close()
    assert again.posts == []


def test_a_receiver_that_never_succeeds_ends_in_a_recorded_failure(spike_ledger) -> None:
    led = spike_ledger
    receiver = Receiver(fail_first=10**6, status=503)
    config = DeliveryConfig(
        (
            Endpoint("broken", receiver.url, SECRET),
            Endpoint("gone", "http://127.0.0.1:9/x", SECRET),
        ),
        attempts=3,
        base_seconds=0.01,
        factor=2.0,
        timeout_seconds=1,
    )
    runner, thread = run_delivery(led, config)
    try:
        expected = len(spike_ids(led)) * 2
        wait_until(
            lambda: (
                rows(led, "SELECT count(*) FROM alert_delivery_status WHERE outcome = 'failed'")[0][
                    0
                ]
                == expected
            ),
            timeout=60,
            what="recorded failures",
        )
    finally:
        runner.stop.set()
        thread.join(30)
        receiver.close()
    attempts = rows(
        led, "SELECT endpoint, count(*) FROM webhook_attempts GROUP BY endpoint ORDER BY endpoint"
    )
    assert attempts == [("broken", expected // 2 * 3), ("gone", expected // 2 * 3)]
    errors = rows(
        led, "SELECT DISTINCT status_code FROM webhook_attempts WHERE endpoint = 'broken'"
    )
    assert errors == [(503,)]


def test_an_acknowledgement_is_an_event_that_lands_in_the_ledger(spike_ledger) -> None:
    led = spike_ledger
    alert_id = sorted(spike_ids(led))[0]
    acknowledge(led, alert_id, "looking into it", display="Deputy IG Rivera")
    running = start_consumers(led, ["volume"])  # acknowledgements are disclosures-topic entries
    try:
        wait_until(
            lambda: rows(
                led, "SELECT acknowledged_by FROM acknowledgements WHERE alert_id = %s", (alert_id,)
            ),
            what="the acknowledgement",
        )
    finally:
        running.stop()
