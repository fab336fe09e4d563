"""Standard Webhooks signatures (published vector), receiver verification, backoff, config."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.errors import ConfigError
from ledger.events import AlertRaised
from ledger.webhook_config import load_delivery_config
from ledger.webhooks import (
    ALERT_FIELDS,
    WebhookVerificationError,
    alert_payload,
    backoff_delays,
    headers,
    signature,
    verify,
)

# The standard-webhooks reference libraries' test vector.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TS = 1614265330
BODY = b'{"test": 2432232314}'


def test_reference_vector() -> None:
    assert signature(MSG_ID, TS, BODY, SECRET) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_receiver_accepts_ours_and_rejects_tampering() -> None:
    h = headers(MSG_ID, TS, BODY, SECRET)
    verify(h, BODY, SECRET, now=TS + 10)
    with pytest.raises(WebhookVerificationError):
        verify(h, BODY + b" ", SECRET, now=TS)
    with pytest.raises(WebhookVerificationError):
        verify({**h, "webhook-timestamp": str(TS + 1)}, BODY, SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(h, BODY, SECRET, now=TS + 301)
    with pytest.raises(WebhookVerificationError):
        verify(h, BODY, "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUE=", now=TS)


def test_payload_carries_the_alert_only() -> None:
    alert = AlertRaised(
        event_id="2b0f0a56-3b5f-4b0e-8f3c-6f2a5d7e9c01",
        occurred_at=datetime(2025, 8, 7, 19, 12, tzinfo=UTC),
        recorded_by="ledger/volume",
        alert_id="a",
        rule="spike_over_prior_year",
        severity="critical",
        scope="IRS",
        day=date(2025, 8, 7),
        observed=47289,
        threshold=15502,
        evidence=("e1",),
        legal_source="x",
        message="m",
    )
    body = json.loads(alert_payload(alert, TS))
    assert body["type"] == "ledger.alert.raised"
    assert body["data"]["observed"] == 47289
    assert body["data"]["day"] == "2025-08-07"
    assert body["data"]["evidence"] == ["e1"]
    # The alert's own fields, not the event around it (who recorded it, its event id).
    assert sorted(body["data"]) == sorted(ALERT_FIELDS)


def test_backoff_is_exponential_and_capped() -> None:
    assert backoff_delays(5, 1.0, 2.0) == [1.0, 2.0, 4.0, 8.0]
    assert backoff_delays(3, 100.0, 10.0, cap=300.0) == [100.0, 300.0]
    assert backoff_delays(1, 1.0, 2.0) == []


def test_config_reads_secrets_from_files_and_rejects_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "oig.secret").write_text(SECRET + "\n")
    cfg = tmp_path / "webhooks.toml"
    cfg.write_text(
        '[retry]\nattempts = 3\n[[endpoint]]\nname = "oig"\nurl = "http://127.0.0.1:1/x"\nsecret_file = "oig.secret"\n'
    )
    loaded = load_delivery_config(cfg)
    assert loaded.attempts == 3
    assert loaded.endpoints[0].secret == SECRET
    cfg.write_text("[retry]\ntries = 3\n")
    with pytest.raises(ConfigError, match="tries"):
        load_delivery_config(cfg)
