"""`ledger alerts ack`: an acknowledgement is an AlertAcknowledged event, never an edit.

Who acknowledged is the caller's authenticated identity, never a name typed on the command
line: ``token:<name>`` for an active overseer or auditor token (LEDGER_TOKEN_FILE or
``--token-file``), else ``os:<login>`` for the operating-system user running the command. A
``--by`` name is kept as a display note beside it. The event goes to the disclosures topic, so
it is an entry of the signed audit log; the volume consumer stores it in ``acknowledgements``.
"""

from __future__ import annotations

import getpass
import uuid
from pathlib import Path

from ledger.errors import ConfigError, EventValidationError
from ledger.intake import build_event
from ledger.kafka.producer import EventProducer
from ledger.runtime import Ledger
from ledger.store.connection import connection
from ledger.store.queries import alert_exists
from ledger.store.tokens import identify

ACK_ROLES = ("overseer", "auditor")


def identity(ledger: Ledger, token_file: Path | None = None) -> str:
    """The authenticated name an acknowledgement carries (see the module docstring)."""
    if token_file is None:
        return f"os:{getpass.getuser()}"
    try:
        token = token_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"Cannot read the token file {token_file}: {exc.strerror}.") from exc
    with connection(ledger.reader_url, ledger.schema) as conn:
        info = identify(conn, token)
    if info is None or info.status() != "active" or info.role not in ACK_ROLES:
        raise EventValidationError(
            "The token file does not hold an active overseer or auditor token."
        )
    return f"token:{info.name}"


def acknowledge(
    ledger: Ledger,
    alert_id: str,
    note: str = "",
    *,
    display: str = "",
    token_file: Path | None = None,
) -> tuple[str, str]:
    """Emits the acknowledgement; returns its event id and the identity it carries."""
    try:
        uuid.UUID(alert_id)
    except ValueError as exc:
        raise EventValidationError(f"{alert_id!r} is not an alert id (a UUID).") from exc
    with connection(ledger.reader_url, ledger.schema) as conn:
        if not alert_exists(conn, alert_id):
            raise EventValidationError(f"No alert {alert_id} is in the ledger.")
    who = identity(ledger, token_file)
    shown = display.strip()
    event = build_event(
        {
            "type": "AlertAcknowledged",
            "alert_id": alert_id,
            "acknowledged_by": who,
            # A typed name is a display note only: it never stands for who acknowledged.
            "note": f'[as "{shown}"] {note}'.strip() if shown else note,
            "recorded_by": f"ledger alerts ack ({who})",
        }
    )
    with EventProducer(ledger.bootstrap, ledger.topics.disclosures) as producer:
        producer.send([event])
    return event.event_id, who
