"""Standard Webhooks (https://www.standardwebhooks.com/): signing, verifying, payloads, backoff.

Signature: ``v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`` where the key is the
base64-decoded part of a ``whsec_...`` secret; headers ``webhook-id``, ``webhook-timestamp``,
``webhook-signature``. The webhook id is the alert id, so receivers de-duplicate retries with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ledger.errors import ConfigError, VerificationError
from ledger.events import AlertRaised, AlertResolved

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks format prefix, not a secret


class WebhookVerificationError(VerificationError):
    """A webhook's signature or timestamp does not verify."""


def secret_key(secret: str) -> bytes:
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("A webhook secret must be whsec_ followed by base64.") from exc
    if len(key) < 16:
        raise ConfigError("A webhook secret must hold at least 16 bytes.")
    return key


def signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(msg_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(msg_id, timestamp, body, secret),
        "content-type": "application/json",
    }


def verify(
    received: Mapping[str, str],
    body: bytes,
    secret: str,
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """What a receiver does: check the timestamp window, then any of the v1 signatures."""
    lower = {k.lower(): v for k, v in received.items()}
    try:
        msg_id, ts = lower["webhook-id"], int(lower["webhook-timestamp"])
        offered = lower["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise WebhookVerificationError("missing or malformed webhook headers") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError("webhook timestamp is outside the tolerance window")
    expected = signature(msg_id, ts, body, secret)
    if not any(hmac.compare_digest(expected, s) for s in offered if s.startswith("v1,")):
        raise WebhookVerificationError("no webhook signature matches")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


ALERT_FIELDS = (
    "alert_id",
    "rule",
    "severity",
    "scope",
    "day",
    "observed",
    "threshold",
    "evidence",
    "legal_source",
    "message",
)


def alert_payload(alert: AlertRaised, timestamp: int) -> bytes:
    """The webhook body: the alert's fields only, never taxpayer data."""
    record = alert.to_record()
    data = {k: _jsonable(record[k]) for k in ALERT_FIELDS}
    body = {
        "type": "ledger.alert.raised",
        "timestamp": datetime.fromtimestamp(timestamp).astimezone().isoformat(),
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def resolution_payload(resolved: AlertResolved, timestamp: int) -> bytes:
    """The webhook body of a resolution: which alert, why, and the event that resolved it."""
    data = {
        "alert_id": resolved.alert_id,
        "reason": resolved.reason,
        "resolved_by": resolved.resolved_by,
        "resolved_at": resolved.resolved_at.isoformat(),
    }
    body = {
        "type": "ledger.alert.resolved",
        "timestamp": datetime.fromtimestamp(timestamp).astimezone().isoformat(),
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def backoff_delays(attempts: int, base: float, factor: float, cap: float = 300.0) -> list[float]:
    """Seconds to wait after each failed attempt but the last: base, base*factor, ... (capped)."""
    return [min(cap, base * factor**i) for i in range(max(attempts - 1, 0))]
